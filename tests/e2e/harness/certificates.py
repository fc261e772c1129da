"""Certificates made with `openssl req` for the TLS tests and benchmarks: a CA,
server certificates for 127.0.0.1 and localhost (subjectAltName) signed by it,
and a client certificate for mutual TLS."""
import os
import subprocess


def _openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_ca(directory):
    """ca.key and ca.pem in `directory`; returns the path of ca.pem."""
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
             "-subj", "/CN=strata test CA", "-keyout", "ca.key", "-out", "ca.pem", cwd=directory)
    return os.path.join(directory, "ca.pem")


def make_signed(directory, name, common_name, server=True, key_type="rsa"):
    """<name>.key and <name>.pem signed by the CA of `directory`; a server
    certificate names 127.0.0.1 and localhost. key_type: "rsa" (2048 bits) or
    "ec" (P-256). Returns (cert, key) paths."""
    extensions = os.path.join(directory, name + ".ext")
    with open(extensions, "w") as f:
        if server:
            f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n"
                    "extendedKeyUsage=serverAuth\n")
        else:
            f.write("extendedKeyUsage=clientAuth\n")
    newkey = (["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"] if key_type == "ec"
              else ["-newkey", "rsa:2048"])
    _openssl("req", *newkey, "-nodes", "-subj", "/CN=" + common_name,
             "-keyout", name + ".key", "-out", name + ".csr", cwd=directory)
    _openssl("x509", "-req", "-in", name + ".csr", "-CA", "ca.pem", "-CAkey", "ca.key",
             "-CAcreateserial", "-days", "2", "-extfile", extensions,
             "-out", name + ".pem", cwd=directory)
    return os.path.join(directory, name + ".pem"), os.path.join(directory, name + ".key")


def make_all(directory):
    """A CA, two server certificates (for rotation) and a client certificate.
    Returns a dict of paths."""
    ca = make_ca(directory)
    server_cert, server_key = make_signed(directory, "server", "strata-first")
    next_cert, next_key = make_signed(directory, "server-next", "strata-rotated")
    client_cert, client_key = make_signed(directory, "client", "strata-client", server=False)
    return {"ca": ca, "cert": server_cert, "key": server_key, "next_cert": next_cert,
            "next_key": next_key, "client_cert": client_cert, "client_key": client_key}


def install(source_cert, source_key, cert, key):
    """Replaces the served pair by renames (each file whole), key first."""
    for source, target in ((source_key, key), (source_cert, cert)):
        with open(source, "rb") as f:
            data = f.read()
        with open(target + ".tmp", "wb") as f:
            f.write(data)
        os.replace(target + ".tmp", target)
