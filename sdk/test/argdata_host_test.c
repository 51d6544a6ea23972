/*
 * Host-side test of the argdata reader (sdk/src/argdata.c), built for
 * Linux with AddressSanitizer and UndefinedBehaviorSanitizer by
 * `make -C sdk host-test`. It checks known encodings and then walks
 * randomly corrupted and truncated buffers through every accessor; each
 * buffer is copied to an exactly sized heap allocation so that any read
 * past its end is caught.
 */
#include <argdata.h>
#include <cloudabi_types.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures;

#define CHECK(cond)                                                   \
  do {                                                                \
    if (!(cond)) {                                                    \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, \
              #cond);                                                 \
      ++failures;                                                     \
    }                                                                 \
  } while (0)

/* Visits a value with every accessor, recursing into containers. */
static void walk(const argdata_t *ad, int depth) {
  const void *bin;
  size_t len;
  bool b;
  int fd;
  double d;
  intmax_t s;
  uintmax_t u;
  const char *str;
  int64_t ts;
  argdata_get_binary(ad, &bin, &len);
  argdata_get_bool(ad, &b);
  argdata_get_fd(ad, &fd);
  argdata_get_float(ad, &d);
  argdata_get_int_s(ad, &s, INTMAX_MIN, INTMAX_MAX);
  argdata_get_int_u(ad, &u, UINTMAX_MAX);
  if (argdata_get_str(ad, &str, &len) == 0)
    CHECK(str[len] == '\0');
  if (argdata_get_str_c(ad, &str) == 0)
    CHECK(strlen(str) < 1u << 20);
  sdk_argdata_get_timestamp_ns(ad, &ts);
  sdk_argdata_type(ad);
  argdata_t v;
  sdk_argdata_map_lookup(ad, "key", &v);
  if (depth > 64)
    return;
  argdata_map_iterator_t mit;
  const argdata_t *k, *e;
  argdata_map_iterate(ad, &mit);
  while (argdata_map_get(&mit, &k, &e)) {
    walk(k, depth + 1);
    walk(e, depth + 1);
    argdata_map_next(&mit);
  }
  argdata_seq_iterator_t sit;
  argdata_seq_iterate(ad, &sit);
  while (argdata_seq_get(&sit, &e)) {
    walk(e, depth + 1);
    argdata_seq_next(&sit);
  }
}

static void walk_buffer(const unsigned char *buf, size_t len, bool argv) {
  unsigned char *copy = malloc(len ? len : 1);
  memcpy(copy, buf, len);
  argdata_t ad;
  if (argv)
    sdk_argdata_init_argv(&ad, copy, len);
  else
    sdk_argdata_init(&ad, copy, len);
  walk(&ad, 0);
  free(copy);
}

static uint64_t rng = 0x9e3779b97f4a7c15ULL;
static uint64_t next_random(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return rng;
}

int main(void) {
  /* Known encodings. */
  static const unsigned char seq[] = {7, 0x81, 5, 0x82, 2, 1, 0x83, 8, 'A', 0};
  argdata_t ad;
  sdk_argdata_init(&ad, seq, sizeof(seq));
  argdata_seq_iterator_t it;
  const argdata_t *e;
  int n = 0;
  argdata_seq_iterate(&ad, &it);
  while (argdata_seq_get(&it, &e)) {
    ++n;
    argdata_seq_next(&it);
  }
  CHECK(n == 3 && it.error == 0);

  static const unsigned char len128[] = {1, 0x01, 0x80};
  unsigned char big[3 + 128 + 1];
  memcpy(big, (const unsigned char[]){7, 0x01, 0x80}, 3);
  big[3] = 1; /* binary of 127 bytes */
  memset(big + 4, 0xaa, 127);
  sdk_argdata_init(&ad, big, 3 + 128);
  argdata_seq_iterate(&ad, &it);
  const void *bin;
  size_t binlen;
  CHECK(argdata_seq_get(&it, &e) && argdata_get_binary(e, &bin, &binlen) == 0 &&
        binlen == 127);
  (void)len128;

  static const unsigned char f[] = {4, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0};
  double d;
  sdk_argdata_init(&ad, f, sizeof(f));
  CHECK(argdata_get_float(&ad, &d) == 0 && d == 1.5);

  static const unsigned char ts[] = {9, 0xff, 0x85};
  int64_t ns;
  sdk_argdata_init(&ad, ts, sizeof(ts));
  CHECK(sdk_argdata_get_timestamp_ns(&ad, &ns) == 0 && ns == -123);

  static const unsigned char emb[] = {8, 'a', 0, 'b', 0};
  const char *s;
  size_t slen;
  sdk_argdata_init(&ad, emb, sizeof(emb));
  CHECK(argdata_get_str(&ad, &s, &slen) == 0 && slen == 3);
  CHECK(argdata_get_str_c(&ad, &s) == CLOUDABI_EILSEQ);

  static const unsigned char i64min[] = {5, 0x80, 0, 0, 0, 0, 0, 0, 0};
  static const unsigned char toolong[] = {5, 1, 0, 0, 0, 0, 0, 0, 0, 0};
  intmax_t iv;
  sdk_argdata_init(&ad, i64min, sizeof(i64min));
  CHECK(argdata_get_int_s(&ad, &iv, INTMAX_MIN, INTMAX_MAX) == 0 &&
        iv == INTMAX_MIN);
  sdk_argdata_init(&ad, toolong, sizeof(toolong));
  CHECK(argdata_get_int_s(&ad, &iv, INTMAX_MIN, INTMAX_MAX) == CLOUDABI_ERANGE);

  /* Random structures, corrupted and truncated. */
  static const unsigned char seeds[][24] = {
      {6, 0x84, 8, 'k', 'e', 'y', 0x85, 3, 0, 0, 0, 1, 0x83, 8, 'o', 0, 0x81, 7},
      {7, 0x81, 5, 0x82, 2, 1, 0x83, 8, 'A', 0, 0x84, 7, 0x82, 5, 0xff},
      {6, 0x82, 8, 0, 0x8a, 6, 0x83, 8, 'a', 0, 0x84, 9, 1, 2, 3},
  };
  unsigned char buf[64];
  for (int round = 0; round < 200000; ++round) {
    const unsigned char *seed = seeds[round % 3];
    size_t len = 24;
    memcpy(buf, seed, len);
    int mutations = (int)(next_random() % 4);
    for (int m = 0; m < mutations; ++m)
      buf[next_random() % len] = (unsigned char)next_random();
    len = next_random() % (len + 1);
    walk_buffer(buf, len, false);
    if (round % 16 == 0)
      walk_buffer(buf, len, true);
  }
  /* Fully random buffers. */
  for (int round = 0; round < 100000; ++round) {
    size_t len = next_random() % sizeof(buf);
    for (size_t i = 0; i < len; ++i)
      buf[i] = (unsigned char)next_random();
    buf[0] = (unsigned char)(next_random() % 10);
    walk_buffer(buf, len, false);
  }

  if (failures != 0) {
    fprintf(stderr, "%d failures\n", failures);
    return 1;
  }
  printf("argdata host test: ok\n");
  return 0;
}
