#!/bin/sh
# Regenerates the certificates the TLS unit tests use (klient-proto/src/tls/tests.rs). Run from
# anywhere; writes next to this script. Needs only openssl. The files are committed so that the
# tests need no generator at build time; everything is valid for 100 years (expiry is tested by
# handing the verifier another time, not with an expired file).
set -eu
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
days=36500
ec_key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }

# Two CAs: the one the tests trust, and another that signs nothing the tests trust.
for ca in ca other-ca; do
    ec_key "$tmp/$ca.key"
    openssl req -x509 -new -key "$tmp/$ca.key" -days $days -subj "/CN=klient test $ca" \
        -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" \
        -out "$ca.pem"
done

# The server: DNS names and IP addresses, as an API server's certificate has them.
ec_key server-key.pem
openssl req -new -key server-key.pem -subj "/CN=kube-apiserver" -out "$tmp/server.csr"
printf '%s\n' \
    "basicConstraints=critical,CA:FALSE" \
    "keyUsage=critical,digitalSignature" \
    "extendedKeyUsage=serverAuth" \
    "subjectAltName=DNS:localhost,DNS:kubernetes.default.svc,IP:127.0.0.1,IP:::1" > "$tmp/server.ext"
openssl x509 -req -in "$tmp/server.csr" -CA ca.pem -CAkey "$tmp/ca.key" -CAcreateserial -CAserial "$tmp/ca.srl" \
    -days $days -extfile "$tmp/server.ext" -out server.pem 2>/dev/null

# A client certificate, its key in SEC1 form ("EC PRIVATE KEY") as kubeadm writes them.
ec_key "$tmp/client.key"
openssl ec -in "$tmp/client.key" -out client-key.pem 2>/dev/null
openssl req -new -key client-key.pem -subj "/O=system:masters/CN=klient-test" -out "$tmp/client.csr"
printf '%s\n' \
    "basicConstraints=critical,CA:FALSE" \
    "keyUsage=critical,digitalSignature" \
    "extendedKeyUsage=clientAuth" > "$tmp/client.ext"
openssl x509 -req -in "$tmp/client.csr" -CA ca.pem -CAkey "$tmp/ca.key" -CAcreateserial -CAserial "$tmp/ca.srl" \
    -days $days -extfile "$tmp/client.ext" -out client.pem 2>/dev/null
