// The native anchor for @trinity/vsa's search benchmark: a plain C popcount scan over a two-bit-plane
// layout, built by the bench with `cc -O3 -march=native -DPLANE_WORDS=n [-DBLOCKED]`, so the compiler
// may unroll and vectorize it (AVX-512 VPOPCNTQ where present). Per entry, PLANE_WORDS 64-bit words
// of sign bits and as many of nonzero bits, zero-padded:
//   planar (default)  all sign words, then all nonzero words
//   -DBLOCKED         the index's own layout: 32-byte blocks [4 sign words][4 nonzero words]
// The bench runs both and compares against the faster.
//
// usage: anchor ENTRIES_FILE QUERIES_FILE ENTRIES QUERIES REPEATS
// Prints one JSON line per mode: {"batch":B,"loop":L,"msPerQuery":x,"top":[slots of query 0's top 10]}:
// one query per pass, 16 per pass with the query loop inside the entry loop, and 16 per pass with
// the queries transposed so that the compiler vectorizes across them (the fastest batch).
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifndef PLANE_WORDS
#error "build with -DPLANE_WORDS=<64-bit words per plane>"
#endif
#define STRIDE (2 * PLANE_WORDS)
#define TOP 10
#define BATCH 16

typedef struct {
  float score;
  int32_t slot;
} hit;

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static uint64_t *read_all(const char *path, size_t words) {
  FILE *f = fopen(path, "rb");
  if (!f) { perror(path); exit(2); }
  uint64_t *out = aligned_alloc(64, (words * 8 + 63) / 64 * 64);
  if (!out || fread(out, 8, words, f) != words) { fprintf(stderr, "short read: %s\n", path); exit(2); }
  fclose(f);
  return out;
}

#ifdef BLOCKED
#define SIGN(w) (8 * ((w) / 4) + (w) % 4)
#define NONZERO(w) (SIGN(w) + 4)
#else
#define SIGN(w) (w)
#define NONZERO(w) (PLANE_WORDS + (w))
#endif

static inline int dot(const uint64_t *e, const uint64_t *q) {
  int both = 0, opposite = 0;
  for (int w = 0; w < PLANE_WORDS; w++) {
    uint64_t n = e[NONZERO(w)] & q[NONZERO(w)];
    both += __builtin_popcountll(n);
    opposite += __builtin_popcountll(n & (e[SIGN(w)] ^ q[SIGN(w)]));
  }
  return both - 2 * opposite;
}

static inline void offer(hit *top, float score, int32_t slot) {
  if (score <= top[TOP - 1].score) return;
  int i = TOP - 1;
  while (i > 0 && top[i - 1].score < score) { top[i] = top[i - 1]; i--; }
  top[i].score = score;
  top[i].slot = slot;
}

// One pass over all entries for 16 queries with the query loop innermost over queries stored
// transposed (word-major), so that the compiler vectorizes across queries (8 per 512-bit register).
static void scan_transposed(const uint64_t *entries, const float *inv, long n, const uint64_t *queries, hit *tops) {
  static uint64_t qs[PLANE_WORDS][BATCH], qn[PLANE_WORDS][BATCH];
  for (int q = 0; q < BATCH; q++) {
    for (int w = 0; w < PLANE_WORDS; w++) {
      qs[w][q] = queries[(size_t)q * STRIDE + SIGN(w)];
      qn[w][q] = queries[(size_t)q * STRIDE + NONZERO(w)];
    }
  }
  for (int q = 0; q < BATCH * TOP; q++) { tops[q].score = -INFINITY; tops[q].slot = -1; }
  for (long e = 0; e < n; e++) {
    const uint64_t *entry = entries + (size_t)e * STRIDE;
    int64_t both[BATCH] = {0}, opposite[BATCH] = {0};
    for (int w = 0; w < PLANE_WORDS; w++) {
      uint64_t en = entry[NONZERO(w)], es = entry[SIGN(w)];
      for (int q = 0; q < BATCH; q++) {
        uint64_t m = en & qn[w][q];
        both[q] += __builtin_popcountll(m);
        opposite[q] += __builtin_popcountll(m & (es ^ qs[w][q]));
      }
    }
    for (int q = 0; q < BATCH; q++) offer(tops + q * TOP, (float)(both[q] - 2 * opposite[q]) * inv[e], (int32_t)e);
  }
}

// One pass over all entries for queries q0 .. q0+count-1.
static void scan(const uint64_t *entries, const float *inv, long n, const uint64_t *queries, int count, hit *tops) {
  for (int q = 0; q < count * TOP; q++) { tops[q].score = -INFINITY; tops[q].slot = -1; }
  for (long e = 0; e < n; e++) {
    const uint64_t *entry = entries + (size_t)e * STRIDE;
    for (int q = 0; q < count; q++) offer(tops + q * TOP, dot(entry, queries + (size_t)q * STRIDE) * inv[e], (int32_t)e);
  }
}

// Reports the best of the runs: on a shared machine the slower ones measure the neighbours.
static void report(int batch, const char *loop, double *ms, int runs, const hit *top) {
  double best = ms[0];
  for (int r = 1; r < runs; r++) if (ms[r] < best) best = ms[r];
  printf("{\"batch\":%d,\"loop\":\"%s\",\"msPerQuery\":%.4f,\"top\":[", batch, loop, best);
  for (int i = 0; i < TOP; i++) printf("%s%d", i ? "," : "", top[i].slot);
  printf("]}\n");
  fflush(stdout);
}

int main(int argc, char **argv) {
  if (argc != 6) { fprintf(stderr, "usage: anchor ENTRIES_FILE QUERIES_FILE ENTRIES QUERIES REPEATS\n"); return 2; }
  long n = atol(argv[3]);
  int nq = atoi(argv[4]), repeats = atoi(argv[5]);
  if (n < 1 || nq < BATCH || repeats < 1) { fprintf(stderr, "need entries >= 1, queries >= 16\n"); return 2; }
  uint64_t *entries = read_all(argv[1], (size_t)n * STRIDE);
  uint64_t *queries = read_all(argv[2], (size_t)nq * STRIDE);
  float *inv = malloc(n * sizeof(float));
  for (long e = 0; e < n; e++) {
    int norm = 0;
    for (int w = 0; w < PLANE_WORDS; w++) norm += __builtin_popcountll(entries[(size_t)e * STRIDE + NONZERO(w)]);
    inv[e] = norm ? 1.0f / sqrtf((float)norm) : 0.0f;
  }
  hit *tops = malloc(sizeof(hit) * TOP * BATCH), first[TOP];
  double *ms = malloc(sizeof(double) * (repeats > nq ? repeats : nq));
  // One query per pass.
  int runs = repeats < nq ? repeats : nq;
  for (int r = 0; r < runs; r++) {
    double t0 = now_ms();
    scan(entries, inv, n, queries + (size_t)r * STRIDE, 1, tops);
    ms[r] = now_ms() - t0;
    if (r == 0) memcpy(first, tops, sizeof first);
  }
  report(1, "entries", ms, runs, first);
  // Sixteen queries per pass, queries innermost as they are stored.
  for (int r = 0; r < repeats; r++) {
    double t0 = now_ms();
    scan(entries, inv, n, queries, BATCH, tops);
    ms[r] = (now_ms() - t0) / BATCH;
  }
  report(BATCH, "entries", ms, repeats, tops);
  // Sixteen queries per pass, queries transposed and vectorized across.
  for (int r = 0; r < repeats; r++) {
    double t0 = now_ms();
    scan_transposed(entries, inv, n, queries, tops);
    ms[r] = (now_ms() - t0) / BATCH;
  }
  report(BATCH, "transposed", ms, repeats, tops);
  return 0;
}
