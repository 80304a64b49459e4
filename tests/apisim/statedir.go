package main

import (
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
)

// stateDir is where the simulator tells its clients how to reach it:
//
//	api-url, control-url   one URL each
//	ca.crt                 the CA that signed the server certificate (TLS)
//	client.crt, client.key a client certificate the server accepts (TLS)
//	token                  the bearer token (rewritten on rotation)
//	kubeconfig             server, CA and token: KUBECONFIG=DIR/kubeconfig kubectl ...
//	kubeconfig-clientcert  server, CA and the client certificate (TLS)
//	pid                    the simulator's process id
//	ready                  written last, removed at shutdown
type stateDir struct {
	dir        string
	apiURL     string
	controlURL string
	pki        *pki
}

// writeFile replaces a file atomically, so a reader never sees half of it.
func (d *stateDir) writeFile(name string, data []byte, mode os.FileMode) error {
	path := filepath.Join(d.dir, name)
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, mode); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

type stateFile struct {
	name string
	data []byte
	mode os.FileMode
}

func (d *stateDir) writeAll(token string) error {
	if err := os.MkdirAll(d.dir, 0o755); err != nil {
		return err
	}
	d.clearReady()
	files := []stateFile{
		{"api-url", []byte(d.apiURL + "\n"), 0o644},
		{"control-url", []byte(d.controlURL + "\n"), 0o644},
		{"pid", []byte(strconv.Itoa(os.Getpid()) + "\n"), 0o644},
	}
	if d.pki != nil {
		certConfig := d.kubeconfig(clientCertUser, fmt.Sprintf("    client-certificate-data: %s\n    client-key-data: %s\n",
			base64.StdEncoding.EncodeToString(d.pki.clientCertPEM), base64.StdEncoding.EncodeToString(d.pki.clientKeyPEM)))
		files = append(files,
			stateFile{"ca.crt", d.pki.caPEM, 0o644},
			stateFile{"client.crt", d.pki.clientCertPEM, 0o644},
			stateFile{"client.key", d.pki.clientKeyPEM, 0o600},
			stateFile{"kubeconfig-clientcert", certConfig, 0o600})
	}
	for _, f := range files {
		if err := d.writeFile(f.name, f.data, f.mode); err != nil {
			return err
		}
	}
	return d.writeToken(token)
}

// writeToken writes the token file and the token kubeconfig.
func (d *stateDir) writeToken(token string) error {
	if err := d.writeFile("token", []byte(token+"\n"), 0o600); err != nil {
		return err
	}
	return d.writeFile("kubeconfig", d.kubeconfig("apisim", fmt.Sprintf("    token: %s\n", token)), 0o600)
}

func (d *stateDir) kubeconfig(user, credentials string) []byte {
	cluster := fmt.Sprintf("    server: %s\n", d.apiURL)
	if d.pki != nil {
		cluster += fmt.Sprintf("    certificate-authority-data: %s\n", base64.StdEncoding.EncodeToString(d.pki.caPEM))
	}
	return []byte(fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: apisim
  cluster:
%susers:
- name: %s
  user:
%scontexts:
- name: apisim
  context:
    cluster: apisim
    user: %s
    namespace: default
current-context: apisim
preferences: {}
`, cluster, user, credentials, user))
}

func (d *stateDir) markReady() error {
	return d.writeFile("ready", []byte(d.apiURL+"\n"), 0o644)
}

func (d *stateDir) clearReady() { os.Remove(filepath.Join(d.dir, "ready")) }
