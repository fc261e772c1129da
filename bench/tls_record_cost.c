// OpenSSL's CPU cost per small TLS record, by protocol version and cipher
// (issue 15, round 5): a server and a client SSL over memory BIOs, no sockets;
// each round trip is one 400-byte record from the server to the client and one
// back (two SSL_write, two SSL_read). Prints the thread's CPU time per round
// trip.
//   gcc -O2 bench/tls_record_cost.c -o /tmp/tls_record_cost -lssl -lcrypto
//   /tmp/tls_record_cost 13|12 CERT.pem KEY.pem [TLS 1.3 suite | TLS 1.2 cipher
//   list]
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
static double now() {
  struct timespec t;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}
int main(int argc, char** argv) {
  int v = atoi(argv[1]);
  const char *cert = argv[2], *key = argv[3];
  const char* cipher = argc > 4 ? argv[4] : NULL;
  SSL_CTX *s = SSL_CTX_new(TLS_server_method()),
          *c = SSL_CTX_new(TLS_client_method());
  SSL_CTX_use_certificate_chain_file(s, cert);
  SSL_CTX_use_PrivateKey_file(s, key, SSL_FILETYPE_PEM);
  int ver = v == 12 ? TLS1_2_VERSION : TLS1_3_VERSION;
  SSL_CTX_set_max_proto_version(s, ver);
  SSL_CTX_set_min_proto_version(s, ver);
  if (cipher) {
    if (v == 12)
      SSL_CTX_set_cipher_list(s, cipher);
    else
      SSL_CTX_set_ciphersuites(s, cipher);
  }
  SSL *ss = SSL_new(s), *cs = SSL_new(c);
  BIO *sn = BIO_new(BIO_s_mem()), *cn = BIO_new(BIO_s_mem());
  BIO *sr = BIO_new(BIO_s_mem()), *cr = BIO_new(BIO_s_mem());
  // server reads from sr writes to sn; client reads cr writes cn
  SSL_set_bio(ss, sr, sn);
  SSL_set_bio(cs, cr, cn);
  SSL_set_accept_state(ss);
  SSL_set_connect_state(cs);
  for (int i = 0; i < 20; i++) {
    SSL_do_handshake(cs);
    SSL_do_handshake(ss);
    char buf[65536];
    int n;
    while ((n = BIO_read(cn, buf, sizeof buf)) > 0) BIO_write(sr, buf, n);
    while ((n = BIO_read(sn, buf, sizeof buf)) > 0) BIO_write(cr, buf, n);
  }
  printf("%s %s ", SSL_get_version(ss), SSL_get_cipher(ss));
  char msg[400];
  memset(msg, 'x', sizeof msg);
  char out[65536], net[65536];
  int N = 100000;
  double t0 = now();
  for (int i = 0; i < N; i++) {
    // server: write one record, take it out of the BIO (what the app sends)
    ERR_clear_error();
    SSL_write(ss, msg, sizeof msg);
    int n = BIO_read(sn, net, sizeof net);
    // client reads it
    BIO_write(cr, net, n);
    SSL_read(cs, out, sizeof out);
    // client writes one, server reads it (the request)
    SSL_write(cs, msg, sizeof msg);
    n = BIO_read(cn, net, sizeof net);
    ERR_clear_error();
    BIO_write(sr, net, n);
    SSL_read(ss, out, sizeof out);
  }
  double t = now() - t0;
  printf("%.2f us of CPU per round trip (one record each way)\n", t / N * 1e6);
  return 0;
}
