// Package layers holds the tests that guard the repository's shape.
package layers
