// Command benchplot draws the reader-scaling figures of docs/benchmarks.md
// (issue #17) from `go test -bench BenchmarkReaders` output: throughput
// and p99 latency against the number of readers, one line per operation,
// card latency and input; with -speedup also the throughput relative to
// one reader, against the ideal (× readers). Standard library image/png,
// text in x/image's basicfont.
//
//	go run ./internal/benchplot -o docs/readers.png -latency 0 after=bench.txt [before=old.txt]
//	go run ./internal/benchplot -o docs/readers-latency.png -latency 1ms,5ms -speedup bench.txt
//
// Names without a latency (op=info/readers=N, before the card-latency
// runs) count as latency 0. With -count > 1 each point is the median of
// the runs.
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
	latency string // "0", "5ms"...
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

var nameRE = regexp.MustCompile(`^BenchmarkReaders/op=(\w+)(?:/latency=(\w+))?/readers=(\d+)(-\d+)?$`)

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
		n, _ := strconv.Atoi(m[3])
		p := point{op: m[1], latency: m[2], readers: n}
		if p.latency == "" {
			p.latency = "0"
		}
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
	latencies := flag.String("latency", "", "comma-separated card latencies to draw (0,1ms,5ms); empty: all")
	speedup := flag.Bool("speedup", false, "add a panel: throughput relative to one reader, with the ideal")
	flag.Usage = func() {
		fmt.Fprintf(os.Stderr, "usage: benchplot [-o out.png] [-latency list] [-speedup] label=bench-output.txt ...\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() == 0 {
		flag.Usage()
		os.Exit(2)
	}
	want := map[string]bool{}
	for _, l := range strings.Split(*latencies, ",") {
		if l = strings.TrimSpace(l); l != "" {
			want[l] = true
		}
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
		bySeries := map[string]*series{}
		var order []string
		for _, p := range pts {
			if len(want) > 0 && !want[p.latency] {
				continue
			}
			key := p.op + " " + p.latency
			s := bySeries[key]
			if s == nil {
				name := p.op
				// The card latency is named unless only latency 0 is drawn.
				if len(want) != 1 || !want["0"] {
					lat := p.latency
					if lat == "0" {
						lat = "0ms"
					}
					name += " " + lat
				}
				if label != "" {
					name = label + " " + name
				}
				s = &series{label: name, ops: map[int][]float64{}, p99: map[int][]float64{}}
				bySeries[key] = s
				order = append(order, key)
			}
			s.ops[p.readers] = append(s.ops[p.readers], p.opsPerS)
			s.p99[p.readers] = append(s.p99[p.readers], p.p99ms)
		}
		for _, k := range order {
			all = append(all, bySeries[k])
		}
	}
	if len(all) == 0 {
		fail(fmt.Errorf("no BenchmarkReaders lines (of the latencies asked for) in the input"))
	}
	type chart struct {
		title string
		val   func(*series) map[int]float64
		ideal bool
	}
	title := "throughput (operations/s, all readers)"
	if len(want) != 1 || !want["0"] {
		title = "throughput (ops/s, all readers; card ms/APDU)"
	}
	charts := []chart{{title, medians(func(s *series) map[int][]float64 { return s.ops }), false}}
	if *speedup {
		charts = append(charts, chart{"speed-up over 1 reader (grey: ideal)", speedupOf, true})
	}
	charts = append(charts, chart{"p99 latency (ms)", medians(func(s *series) map[int][]float64 { return s.p99 }), false})
	const w = 500
	rows := legendRows(all, w-80)
	h := 420 + 16*(rows-1)
	img := image.NewRGBA(image.Rect(0, 0, w*len(charts), h))
	draw.Draw(img, img.Bounds(), image.White, image.Point{}, draw.Src)
	for i, c := range charts {
		panel(img, image.Rect(i*w, 0, (i+1)*w, h), 16*(rows-1), c.title, all, c.val, c.ideal)
	}
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

// medians turns the runs of each point into their median.
func medians(runs func(*series) map[int][]float64) func(*series) map[int]float64 {
	return func(s *series) map[int]float64 {
		m := map[int]float64{}
		for n, v := range runs(s) {
			m[n] = median(v)
		}
		return m
	}
}

// speedupOf is each point's median throughput over the 1-reader median.
func speedupOf(s *series) map[int]float64 {
	one, ok := s.ops[1]
	if !ok || median(one) == 0 {
		return nil
	}
	base := median(one)
	m := map[int]float64{}
	for n, v := range s.ops {
		m[n] = median(v) / base
	}
	return m
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
	black    = color.RGBA{0, 0, 0, 0xff}
	grey     = color.RGBA{0xdd, 0xdd, 0xdd, 0xff}
	darkGrey = color.RGBA{0xaa, 0xaa, 0xaa, 0xff}
)

// legendEntry is the width of one legend entry: line, gap, label, space.
func legendEntry(s *series) int { return 24 + 7*len(s.label) + 16 }

// legendRows is how many rows the legend needs in width.
func legendRows(all []*series, width int) int {
	rows, x := 1, 0
	for _, s := range all {
		if x > 0 && x+legendEntry(s) > width {
			rows, x = rows+1, 0
		}
		x += legendEntry(s)
	}
	return rows
}

// panel draws one chart in r: x = readers on a log2 axis (1…16), y from 0;
// legendH is the room the legend needs beyond one row. With ideal, a grey
// line y = readers is drawn under the data.
func panel(img *image.RGBA, r image.Rectangle, legendH int, title string, all []*series, val func(*series) map[int]float64, ideal bool) {
	plot := image.Rect(r.Min.X+60, r.Min.Y+40, r.Max.X-20, r.Max.Y-60-legendH)
	xs := map[int]bool{}
	ymax := 0.0
	for _, s := range all {
		for n, v := range val(s) {
			xs[n] = true
			ymax = max(ymax, v)
		}
	}
	var readers []int
	for n := range xs {
		readers = append(readers, n)
	}
	slices.Sort(readers)
	if len(readers) == 0 {
		return
	}
	if ideal {
		ymax = max(ymax, float64(readers[len(readers)-1]))
	}
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
	if ideal {
		for i := 1; i < len(readers); i++ {
			a, b := readers[i-1], readers[i]
			thick(img, px(a), py(float64(a)), px(b), py(float64(b)), darkGrey)
		}
	}
	// Lines and points, legend.
	lx, ly := r.Min.X+60, r.Max.Y-8-legendH
	for i, s := range all {
		c := palette[i%len(palette)]
		prevX, prevY := -1, -1
		for _, n := range readers {
			v, ok := val(s)[n]
			if !ok {
				continue
			}
			x, y := px(n), py(v)
			if prevX >= 0 {
				thick(img, prevX, prevY, x, y, c)
			}
			dot(img, x, y, c)
			prevX, prevY = x, y
		}
		if lx > r.Min.X+60 && lx+legendEntry(s) > r.Max.X-20 {
			lx, ly = r.Min.X+60, ly+16
		}
		thick(img, lx, ly-4, lx+20, ly-4, c)
		text(img, lx+24, ly, s.label, black)
		lx += legendEntry(s)
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
