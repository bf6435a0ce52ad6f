// Package spell suggests the intended name for a misspelt one ("did you mean").
package spell

import "unicode/utf8"

// Suggest returns the candidate closest to name by edit distance, if it
// is close enough to be a plausible typo.
func Suggest(name string, candidates []string) string {
	best, bestD := "", 1<<30
	for _, c := range candidates {
		if c == name {
			continue
		}
		d := Distance(name, c)
		if d < bestD || d == bestD && c < best {
			best, bestD = c, d
		}
	}
	// one edit for names of up to five letters, two up to eight, …; none
	// for a single letter, where any other letter is one edit away
	n := utf8.RuneCountInString(name)
	limit := max(1, n/3)
	if n > 1 && bestD <= limit && best != "" {
		return best
	}
	return ""
}

// Distance is the Levenshtein distance between a and b, counting a
// transposition of adjacent characters as one edit.
func Distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev2 := make([]int, len(rb)+1)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}
