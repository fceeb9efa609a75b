// Command genphoto writes the default holder photo of the software card
// (sim/profiles/photo.jpg): a deterministic, made-up 102×126 passport-style
// JPEG of 10–20 KB drawn with the standard library (no real person).
//
// Regenerate it from the sim directory with
//
//	go generate ./sim
package main

import (
	"bytes"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"log"
	"os"
)

// Photo size (pixels) and JPEG quality, chosen so the file lands in 10–20 KB.
const (
	width   = 102
	height  = 126
	quality = 98
)

func main() {
	out := flag.String("o", "photo.jpg", "output file")
	flag.Parse()
	data, err := Render()
	if err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(*out, data, 0o644); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("genphoto: wrote %s (%d bytes)\n", *out, len(data))
}

// Render draws the photo and encodes it as JPEG.
func Render() ([]byte, error) {
	img := image.NewRGBA(image.Rect(0, 0, width, height))
	var seed uint32 = 0x55C3_2024 // xorshift32 state: fine film grain
	grain := func() int {
		seed ^= seed << 13
		seed ^= seed >> 17
		seed ^= seed << 5
		return int(seed%25) - 12
	}
	sq := func(v float64) float64 { return v * v }
	for y := range height {
		for x := range width {
			fx, fy := float64(x), float64(y)
			// Background: a light blue vertical gradient (ID photo style).
			r, g, b := 200-y/3, 225-y/4, 250-y/6
			// Shoulders: a dark jacket below an ellipse.
			if sq((fx-51)/50)+sq((fy-140)/42) < 1 {
				r, g, b = 40+y/8, 45+y/8, 60+y/6
				// White collar.
				if fy < 112 && (fx-51) > -(fy-98) && (fx-51) < (fy-98) {
					r, g, b = 235, 235, 240
				}
			}
			// Neck.
			if fx > 42 && fx < 60 && fy > 80 && fy < 106 {
				r, g, b = 215, 175, 145
			}
			// Hair behind the face.
			if sq((fx-51)/31)+sq((fy-50)/36) < 1 {
				r, g, b = 35, 28, 25
			}
			// Face.
			d := sq((fx-51)/25) + sq((fy-58)/31)
			if d < 1 && fy > 34 {
				shade := int(d * 25)
				r, g, b = 235-shade, 195-shade, 165-shade
				switch {
				case sq((fx-41)/4.5)+sq((fy-55)/2.2) < 1, sq((fx-61)/4.5)+sq((fy-55)/2.2) < 1: // eyes
					r, g, b = 40, 30, 30
				case fy > 48 && fy < 50 && ((fx > 35 && fx < 47) || (fx > 55 && fx < 67)): // brows
					r, g, b = 50, 35, 30
				case fx > 49 && fx < 53 && fy > 58 && fy < 68: // nose
					r, g, b = 215-shade, 170-shade, 140-shade
				case sq((fx-51)/9)+sq((fy-75)/2.5) < 1: // mouth
					r, g, b = 180, 80, 80
				}
			}
			n := grain()
			img.Set(x, y, color.RGBA{clamp(r + n), clamp(g + n), clamp(b + n), 0xFF})
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: quality}); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func clamp(v int) uint8 { return uint8(max(0, min(255, v))) }
