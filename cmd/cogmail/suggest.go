package main

import "strings"

// closest is the candidate a mistyped name most likely meant: the nearest
// by edit distance (at most 2, or a third of the name's length), or one the
// name is a prefix of; "" when none is near.
func closest(name string, candidates []string) string {
	name = strings.ToLower(name)
	best, bestD := "", 0
	for _, c := range candidates {
		d := editDistance(name, strings.ToLower(c))
		if best == "" || d < bestD {
			best, bestD = c, d
		}
	}
	if best != "" && (bestD <= max(2, len(name)/3)) && bestD < len(name) {
		return best
	}
	for _, c := range candidates {
		if len(name) >= 2 && strings.HasPrefix(strings.ToLower(c), name) {
			return c
		}
	}
	return ""
}

// didYouMean is "; did you mean X?" for the closest candidate, or "".
func didYouMean(name string, candidates []string, prefix string) string {
	if c := closest(name, candidates); c != "" {
		return "; did you mean " + prefix + c + "?"
	}
	return ""
}

// editDistance is the Levenshtein distance, with a swap of two neighbours
// counted as one edit (optimal string alignment): "lcoal" is one from "local".
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ra)][len(rb)]
}
