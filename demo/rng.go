package demo

import (
	"hash/fnv"
	"math"
	"math/bits"
	"sort"
)

// rng is a splitmix64 generator. The package uses its own rather than math/rand so that a seed
// gives the same dataset on every Go release: the standard library does not promise that its
// helpers (IntN, NormFloat64…) keep their output across versions.
type rng struct{ s uint64 }

// newRNG derives an independent stream for one part of the generation, so that changing how one
// part draws numbers leaves the others as they were.
func newRNG(seed int64, stream string) *rng {
	h := fnv.New64a()
	h.Write([]byte(stream))
	r := &rng{s: uint64(seed) ^ h.Sum64()}
	r.u64()
	return r
}

func (r *rng) u64() uint64 {
	r.s += 0x9e3779b97f4a7c15
	z := r.s
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

// float returns a number in [0, 1).
func (r *rng) float() float64 { return float64(r.u64()>>11) / (1 << 53) }

// intn returns a number in [0, n); n must be positive.
func (r *rng) intn(n int) int {
	hi, _ := bits.Mul64(r.u64(), uint64(n))
	return int(hi)
}

// between returns an integer in [lo, hi].
func (r *rng) between(lo, hi int) int { return lo + r.intn(hi-lo+1) }

// chance reports true with probability p.
func (r *rng) chance(p float64) bool { return r.float() < p }

// norm returns a standard normal variate (Box-Muller).
func (r *rng) norm() float64 {
	u1 := 1 - r.float()
	u2 := r.float()
	return math.Sqrt(-2*math.Log(u1)) * math.Cos(2*math.Pi*u2)
}

// lognormal returns a variate with the given median and log-space sigma, clamped to [lo, hi].
func (r *rng) lognormal(median, sigma, lo, hi float64) float64 {
	v := median * math.Exp(sigma*r.norm())
	return math.Max(lo, math.Min(hi, v))
}

// pick returns one element of xs, uniformly.
func pick[T any](r *rng, xs []T) T { return xs[r.intn(len(xs))] }

// weighted picks indexes in proportion to non-negative weights.
type weighted struct{ cum []float64 }

func newWeighted(ws []float64) weighted {
	cum := make([]float64, len(ws))
	sum := 0.0
	for i, w := range ws {
		if w > 0 {
			sum += w
		}
		cum[i] = sum
	}
	return weighted{cum: cum}
}

func (w weighted) total() float64 {
	if len(w.cum) == 0 {
		return 0
	}
	return w.cum[len(w.cum)-1]
}

// pick returns an index, or -1 when every weight is zero.
func (w weighted) pick(r *rng) int {
	t := w.total()
	if t <= 0 {
		return -1
	}
	x := r.float() * t
	i := sort.SearchFloat64s(w.cum, x)
	for i < len(w.cum)-1 && w.cum[i] <= x {
		i++
	}
	return i
}

// choice is a value with a weight, for small inline tables.
type choice[T any] struct {
	w float64
	v T
}

func choose[T any](r *rng, cs []choice[T]) T {
	ws := make([]float64, len(cs))
	for i, c := range cs {
		ws[i] = c.w
	}
	return cs[newWeighted(ws).pick(r)].v
}
