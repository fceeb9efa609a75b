// Command benchplot draws the reader-scaling figures of docs/benchmarks.md
// (issue #17) from `go test -bench BenchmarkReaders` output: throughput
// and p99 latency against the number of readers, one line per operation
// and input. Standard library image/png, text in x/image's basicfont.
//
//	go run ./internal/benchplot -o docs/readers.png after=bench.txt [before=old.txt]
//
// With -count > 1 each point is the median of the runs.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"io"
	"math"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// point is one run of one sub-benchmark.
type point struct {
	op      string
	readers int
	opsPerS float64
	p99ms   float64
}

// series is one line: an input's operation, by reader count.
type series struct {
	label string
	ops   map[int][]float64
	p99   map[int][]float64
}

var nameRE = regexp.MustCompile(`^BenchmarkReaders/op=(\w+)/readers=(\d+)(-\d+)?$`)

// parse reads benchmark lines: name, N, then value-unit pairs.
func parse(r io.Reader) ([]point, error) {
	var pts []point
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 {
			continue
		}
		m := nameRE.FindStringSubmatch(f[0])
		if m == nil {
			continue
		}
		n, _ := strconv.Atoi(m[2])
		p := point{op: m[1], readers: n}
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				continue
			}
			switch f[i+1] {
			case "ops/s":
				p.opsPerS = v
			case "p99-ms":
				p.p99ms = v
			}
		}
		pts = append(pts, p)
	}
	return pts, sc.Err()
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func main() {
	out := flag.String("o", "readers.png", "output PNG")
	flag.Usage = func() {
		fmt.Fprintf(os.Stderr, "usage: benchplot [-o out.png] label=bench-output.txt ...\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() == 0 {
		flag.Usage()
		os.Exit(2)
	}
	var all []*series
	for _, arg := range flag.Args() {
		label, path, ok := strings.Cut(arg, "=")
		if !ok {
			label, path = "", arg
		}
		f, err := os.Open(path)
		if err != nil {
			fail(err)
		}
		pts, err := parse(f)
		f.Close()
		if err != nil {
			fail(err)
		}
		byOp := map[string]*series{}
		var order []string
		for _, p := range pts {
			s := byOp[p.op]
			if s == nil {
				name := p.op
				if label != "" {
					name = label + " " + p.op
				}
				s = &series{label: name, ops: map[int][]float64{}, p99: map[int][]float64{}}
				byOp[p.op] = s
				order = append(order, p.op)
			}
			s.ops[p.readers] = append(s.ops[p.readers], p.opsPerS)
			s.p99[p.readers] = append(s.p99[p.readers], p.p99ms)
		}
		for _, op := range order {
			all = append(all, byOp[op])
		}
	}
	if len(all) == 0 {
		fail(fmt.Errorf("no BenchmarkReaders lines in the input"))
	}
	img := image.NewRGBA(image.Rect(0, 0, 1000, 420))
	draw.Draw(img, img.Bounds(), image.White, image.Point{}, draw.Src)
	panel(img, image.Rect(0, 0, 500, 420), "throughput (operations/s, all readers)", all, func(s *series) map[int][]float64 { return s.ops })
	panel(img, image.Rect(500, 0, 1000, 420), "p99 latency (ms)", all, func(s *series) map[int][]float64 { return s.p99 })
	f, err := os.Create(*out)
	if err != nil {
		fail(err)
	}
	if err := png.Encode(f, img); err != nil {
		fail(err)
	}
	if err := f.Close(); err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "benchplot:", err)
	os.Exit(1)
}

var palette = []color.RGBA{
	{0x1f, 0x77, 0xb4, 0xff}, {0xd6, 0x27, 0x28, 0xff}, {0x2c, 0xa0, 0x2c, 0xff},
	{0xff, 0x7f, 0x0e, 0xff}, {0x94, 0x67, 0xbd, 0xff}, {0x8c, 0x56, 0x4b, 0xff},
}

var (
	black = color.RGBA{0, 0, 0, 0xff}
	grey  = color.RGBA{0xdd, 0xdd, 0xdd, 0xff}
)

// panel draws one chart in r: x = readers on a log2 axis (1…16), y from 0.
func panel(img *image.RGBA, r image.Rectangle, title string, all []*series, val func(*series) map[int][]float64) {
	plot := image.Rect(r.Min.X+60, r.Min.Y+40, r.Max.X-20, r.Max.Y-60)
	xs := map[int]bool{}
	ymax := 0.0
	for _, s := range all {
		for n, v := range val(s) {
			xs[n] = true
			ymax = max(ymax, median(v))
		}
	}
	var readers []int
	for n := range xs {
		readers = append(readers, n)
	}
	slices.Sort(readers)
	step := niceStep(ymax / 5)
	ytop := math.Ceil(ymax/step) * step
	if ytop == 0 {
		ytop = 1
	}
	lo, hi := math.Log2(float64(readers[0])), math.Log2(float64(readers[len(readers)-1]))
	if hi == lo {
		hi = lo + 1
	}
	px := func(n int) int {
		return plot.Min.X + int((math.Log2(float64(n))-lo)/(hi-lo)*float64(plot.Dx()))
	}
	py := func(v float64) int { return plot.Max.Y - int(v/ytop*float64(plot.Dy())) }
	// Grid, axes, tick labels.
	for v := 0.0; v <= ytop+step/2; v += step {
		y := py(v)
		line(img, plot.Min.X, y, plot.Max.X, y, grey)
		label := strconv.FormatFloat(v, 'f', -1, 64)
		text(img, plot.Min.X-8-7*len(label), y+4, label, black)
	}
	for _, n := range readers {
		x := px(n)
		line(img, x, plot.Min.Y, x, plot.Max.Y, grey)
		s := strconv.Itoa(n)
		text(img, x-7*len(s)/2, plot.Max.Y+18, s, black)
	}
	line(img, plot.Min.X, plot.Max.Y, plot.Max.X, plot.Max.Y, black)
	line(img, plot.Min.X, plot.Min.Y, plot.Min.X, plot.Max.Y, black)
	text(img, plot.Min.X+plot.Dx()/2-7*len("readers")/2, plot.Max.Y+36, "readers", black)
	text(img, r.Min.X+60, r.Min.Y+22, title, black)
	// Lines and points, legend.
	for i, s := range all {
		c := palette[i%len(palette)]
		prevX, prevY := -1, -1
		for _, n := range readers {
			v, ok := val(s)[n]
			if !ok {
				continue
			}
			x, y := px(n), py(median(v))
			if prevX >= 0 {
				thick(img, prevX, prevY, x, y, c)
			}
			dot(img, x, y, c)
			prevX, prevY = x, y
		}
		ly := r.Max.Y - 8
		lx := r.Min.X + 60 + i*(plot.Dx()/max(1, len(all)))
		thick(img, lx, ly-4, lx+20, ly-4, c)
		text(img, lx+24, ly, s.label, black)
	}
}

// niceStep rounds a raw step up to 1, 2 or 5 times a power of ten.
func niceStep(raw float64) float64 {
	if raw <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if raw <= m*p {
			return m * p
		}
	}
	return 10 * p
}

func text(img *image.RGBA, x, y int, s string, c color.Color) {
	d := font.Drawer{Dst: img, Src: image.NewUniform(c), Face: basicfont.Face7x13, Dot: fixed.P(x, y)}
	d.DrawString(s)
}

// line draws a one-pixel line (Bresenham).
func line(img *image.RGBA, x0, y0, x1, y1 int, c color.Color) {
	dx, dy := abs(x1-x0), -abs(y1-y0)
	sx, sy := sign(x1-x0), sign(y1-y0)
	e := dx + dy
	for {
		img.Set(x0, y0, c)
		if x0 == x1 && y0 == y1 {
			return
		}
		if e2 := 2 * e; e2 >= dy {
			e += dy
			x0 += sx
		} else {
			e += dx
			y0 += sy
		}
	}
}

func thick(img *image.RGBA, x0, y0, x1, y1 int, c color.Color) {
	for d := -1; d <= 1; d++ {
		line(img, x0, y0+d, x1, y1+d, c)
	}
}

func dot(img *image.RGBA, x, y int, c color.Color) {
	for i := -3; i <= 3; i++ {
		for j := -3; j <= 3; j++ {
			if i*i+j*j <= 10 {
				img.Set(x+i, y+j, c)
			}
		}
	}
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

func sign(v int) int {
	switch {
	case v > 0:
		return 1
	case v < 0:
		return -1
	}
	return 0
}
