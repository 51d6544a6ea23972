/*
 * Memory and string functions. Compiled with -fno-builtin so that the
 * compiler does not turn these loops back into calls to themselves.
 * They use no thread-local storage and no unsafe stack, so the startup
 * code may call them before TLS exists.
 */
#include <cloudabi_sdk.h>

typedef uint64_t __attribute__((may_alias)) word_t;

void *memcpy(void *dst, const void *src, size_t n) {
  unsigned char *d = dst;
  const unsigned char *s = src;
  while (n >= sizeof(uint64_t) && (((uintptr_t)d | (uintptr_t)s) & 7) == 0) {
    *(word_t *)(void *)d = *(const word_t *)(const void *)s;
    d += sizeof(uint64_t);
    s += sizeof(uint64_t);
    n -= sizeof(uint64_t);
  }
  while (n-- > 0)
    *d++ = *s++;
  return dst;
}

void *memmove(void *dst, const void *src, size_t n) {
  unsigned char *d = dst;
  const unsigned char *s = src;
  if (d == s || n == 0)
    return dst;
  if ((uintptr_t)d < (uintptr_t)s || (uintptr_t)d >= (uintptr_t)s + n)
    return memcpy(dst, src, n);
  /* Overlapping with dst above src: copy backwards. */
  while (n-- > 0)
    d[n] = s[n];
  return dst;
}

void *memset(void *dst, int c, size_t n) {
  unsigned char *d = dst;
  uint64_t pattern = (unsigned char)c * 0x0101010101010101ULL;
  while (n > 0 && ((uintptr_t)d & 7) != 0) {
    *d++ = (unsigned char)c;
    --n;
  }
  while (n >= sizeof(uint64_t)) {
    *(word_t *)(void *)d = pattern;
    d += sizeof(uint64_t);
    n -= sizeof(uint64_t);
  }
  while (n-- > 0)
    *d++ = (unsigned char)c;
  return dst;
}

int memcmp(const void *a, const void *b, size_t n) {
  const unsigned char *x = a, *y = b;
  for (size_t i = 0; i < n; ++i) {
    if (x[i] != y[i])
      return (int)x[i] - (int)y[i];
  }
  return 0;
}

size_t strlen(const char *s) {
  const char *e = s;
  while (*e != '\0')
    ++e;
  return (size_t)(e - s);
}

int strcmp(const char *a, const char *b) {
  while (*a != '\0' && *a == *b) {
    ++a;
    ++b;
  }
  return (int)(unsigned char)*a - (int)(unsigned char)*b;
}

int strncmp(const char *a, const char *b, size_t n) {
  for (; n > 0; --n, ++a, ++b) {
    if (*a != *b || *a == '\0')
      return (int)(unsigned char)*a - (int)(unsigned char)*b;
  }
  return 0;
}
