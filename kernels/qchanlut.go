package kernels

import "fmt"

// ChanLUT is one 256-entry int8 lookup table per channel (QChanLUT of the
// int8 executor: a PRelu with a slope per channel, an elementwise operator
// with one constant per channel). Channels-last pixels run on the AVX-512
// gather kernel (kernels/_gen/gen_qchanlut.go), channel planes on the
// one-table kernel of LUT.Apply.
type ChanLUT struct {
	c      int
	tables []int8  // c·256 entries and 3 bytes of padding (the gather reads dwords)
	offs   []int32 // ch·256, padded to a multiple of 16 channels
}

// NewChanLUT builds the tables of len(tables)/256 channels; tables[ch·256 +
// uint8(q)] is channel ch's value for the code q.
func NewChanLUT(tables []int8) (*ChanLUT, error) {
	if len(tables) == 0 || len(tables)%256 != 0 {
		return nil, fmt.Errorf("channel lookup tables: %d entries is not a positive multiple of 256", len(tables))
	}
	c := len(tables) / 256
	t := &ChanLUT{c: c, tables: make([]int8, len(tables)+3), offs: make([]int32, (c+15)&^15)}
	copy(t.tables, tables)
	for ch := range t.offs {
		t.offs[ch] = int32(min(ch, c-1) * 256)
	}
	return t, nil
}

// Channels is the number of tables.
func (t *ChanLUT) Channels() int { return t.c }

// Table returns channel ch's table.
func (t *ChanLUT) Table(ch int) *LUT { return (*LUT)(t.tables[ch*256 : ch*256+256]) }

// ApplyPixels maps channels-last pixels through their channels' tables into out
// (len(out) >= len(in); may alias in): in[i] is channel i mod Channels (a
// partial last pixel is its first channels).
func (t *ChanLUT) ApplyPixels(in, out []int8) {
	out = out[:len(in)]
	v := len(in) / t.c * t.c
	if v == 0 || !chanLUTPixelsVec(t, in, out, v/t.c) {
		v = 0
	}
	chanLUTPixelsGo(t, in[v:], out[v:])
}

// chanLUTPixelsGo is the reference: one lookup per byte, in[0] being channel 0.
func chanLUTPixelsGo(t *ChanLUT, in, out []int8) {
	c := t.c
	out = out[:len(in)]
	for p := 0; p < len(in); p += c {
		xs := in[p:min(p+c, len(in))]
		ys := out[p:][:len(xs)]
		for ch, v := range xs {
			ys[ch] = t.tables[ch<<8|int(uint8(v))]
		}
	}
}
