package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
)

// readFixtures returns the objects of a JSON file, or of every *.json file
// of a directory in name order. A file holds one or more JSON values, each
// an object or a List.
func readFixtures(path string) ([]map[string]any, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	files := []string{path}
	if info.IsDir() {
		if files, err = filepath.Glob(filepath.Join(path, "*.json")); err != nil {
			return nil, err
		}
		sort.Strings(files)
	}
	var objs []map[string]any
	for _, file := range files {
		items, err := readFixtureFile(file)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", file, err)
		}
		objs = append(objs, items...)
	}
	return objs, nil
}

func readFixtureFile(file string) ([]map[string]any, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	dec := json.NewDecoder(f)
	dec.UseNumber()
	var objs []map[string]any
	for {
		var doc map[string]any
		if err := dec.Decode(&doc); err == io.EOF {
			return objs, nil
		} else if err != nil {
			return nil, err
		}
		items, err := listItems(doc)
		if err != nil {
			return nil, err
		}
		objs = append(objs, items...)
	}
}

// loadFixtures stores the objects of the fixture paths and returns how many.
func loadFixtures(store *Store, paths []string) (int, error) {
	n := 0
	for _, path := range paths {
		objs, err := readFixtures(path)
		if err != nil {
			return n, err
		}
		for _, o := range objs {
			if _, err := store.Upsert(o); err != nil {
				return n, fmt.Errorf("%s: %v", path, err)
			}
			n++
		}
	}
	return n, nil
}

// resetToFixtures makes the store hold exactly the fixture objects again:
// it re-stores them (those unchanged make no event) and deletes every
// other object. Resource versions go on increasing, as in a real cluster.
func (s *Server) resetToFixtures() (int, error) {
	keep := map[*Resource]map[string]bool{}
	for _, r := range resourceTable {
		keep[r] = map[string]bool{}
	}
	changed := 0
	for _, path := range s.fixtures {
		objs, err := readFixtures(path)
		if err != nil {
			return changed, err
		}
		for _, o := range objs {
			ev, err := s.store.Upsert(o)
			if err != nil {
				return changed, fmt.Errorf("%s: %v", path, err)
			}
			keep[ev.Obj.Res][ev.Obj.Key()] = true
			if ev.Type != "" {
				changed++
			}
		}
	}
	for _, r := range resourceTable {
		objs, _ := s.store.Current(r)
		for _, o := range objs {
			if !keep[r][o.Key()] {
				s.store.Delete(r, o.Namespace, o.Name)
				changed++
			}
		}
	}
	return changed, nil
}
