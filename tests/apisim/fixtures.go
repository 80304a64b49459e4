package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
)

// loadFixtures stores the objects of a JSON file, or of every *.json file
// of a directory in name order. A file holds one or more JSON values, each
// an object or a List.
func loadFixtures(store *Store, path string) (int, error) {
	info, err := os.Stat(path)
	if err != nil {
		return 0, err
	}
	files := []string{path}
	if info.IsDir() {
		if files, err = filepath.Glob(filepath.Join(path, "*.json")); err != nil {
			return 0, err
		}
		sort.Strings(files)
	}
	total := 0
	for _, file := range files {
		n, err := loadFixtureFile(store, file)
		total += n
		if err != nil {
			return total, fmt.Errorf("%s: %v", file, err)
		}
	}
	return total, nil
}

func loadFixtureFile(store *Store, file string) (int, error) {
	f, err := os.Open(file)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	dec := json.NewDecoder(f)
	dec.UseNumber()
	n := 0
	for {
		var doc map[string]any
		if err := dec.Decode(&doc); err == io.EOF {
			return n, nil
		} else if err != nil {
			return n, err
		}
		items, err := listItems(doc)
		if err != nil {
			return n, err
		}
		for _, it := range items {
			if _, err := store.Upsert(it); err != nil {
				return n, err
			}
			n++
		}
	}
}
