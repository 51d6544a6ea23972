/*
 * ls: an `ls -l`-style listing of a directory capability.
 *
 * Argdata: a map {dir: fd, out: fd} (see ls.yaml). For every entry of `dir`
 * except "." and "..", sorted by name (byte order), it writes one line to
 * `out`:
 *
 *   TYPE SIZE MTIME NAME[ -> TARGET]
 *
 * TYPE is one letter (d directory, - regular file, l symbolic link,
 * c character device, b block device, s socket or FIFO, ? unknown), SIZE the
 * size in bytes right-aligned in 10 columns, MTIME the modification time in
 * whole seconds since 1970, and TARGET the contents of a symbolic link.
 * Entries are not followed: a link is listed as a link.
 *
 * Exit status: 0; 2 bad argdata; 3 the directory cannot be read; 4 an entry
 * cannot be examined (the others are still listed); 5 more than MAX_ENTRIES
 * entries or MAX_NAMES bytes of names (the first ones are listed).
 */
#include <argdata.h>
#include <cloudabi_sdk.h>
#include <cloudabi_syscalls.h>
#include <program.h>

#define MAX_ENTRIES 4096
#define MAX_NAMES (256 * 1024)

static char names[MAX_NAMES];     /* NUL-terminated names, one after another */
static const char *entries[MAX_ENTRIES];
static size_t nentries, names_used;
static char dirbuf[16384];

static cloudabi_fd_t out;

static void put(const char *s) { sdk_puts(out, s); }

/* Writes v in decimal, right-aligned in width columns. */
static void put_u64(uint64_t v, size_t width) {
  char num[24];
  size_t n = sdk_fmt_u64(num, v);
  for (; width > n; --width)
    put(" ");
  put(num);
}

static int get_fd(const argdata_t *ad, const char *key, cloudabi_fd_t *fd) {
  argdata_t value;
  int v;
  if (sdk_argdata_map_lookup(ad, key, &value) != 0 || argdata_get_fd(&value, &v) != 0)
    return -1;
  *fd = (cloudabi_fd_t)v;
  return 0;
}

/* Adds a name to the list; returns nonzero if there is no room. */
static int add_name(const char *name, size_t len) {
  if ((len == 1 && name[0] == '.') || (len == 2 && name[0] == '.' && name[1] == '.'))
    return 0;
  if (nentries == MAX_ENTRIES || names_used + len + 1 > sizeof(names))
    return 1;
  memcpy(names + names_used, name, len);
  names[names_used + len] = '\0';
  entries[nentries++] = names + names_used;
  names_used += len + 1;
  return 0;
}

/* Reads every entry of dir. Returns 0, an errno, or -1 when full. */
static int read_dir(cloudabi_fd_t dir) {
  cloudabi_dircookie_t cookie = CLOUDABI_DIRCOOKIE_START;
  for (;;) {
    size_t used;
    cloudabi_errno_t error = cloudabi_sys_file_readdir(dir, dirbuf, sizeof(dirbuf), cookie, &used);
    if (error != 0)
      return error;
    size_t off = 0;
    int complete = 0;
    while (off + sizeof(cloudabi_dirent_t) <= used) {
      cloudabi_dirent_t de;
      memcpy(&de, dirbuf + off, sizeof(de));
      if (off + sizeof(de) + de.d_namlen > used)
        break; /* truncated: read again from its cookie */
      if (add_name(dirbuf + off + sizeof(de), de.d_namlen) != 0)
        return -1;
      off += sizeof(de) + de.d_namlen;
      cookie = de.d_next;
      complete = 1;
    }
    if (used < sizeof(dirbuf))
      return 0; /* the end of the directory */
    if (!complete)
      return CLOUDABI_ENAMETOOLONG; /* one entry is larger than the buffer */
  }
}

static void sort_names(void) {
  for (size_t i = 1; i < nentries; ++i) {
    const char *e = entries[i];
    size_t j = i;
    for (; j > 0 && strcmp(entries[j - 1], e) > 0; --j)
      entries[j] = entries[j - 1];
    entries[j] = e;
  }
}

static char type_letter(cloudabi_filetype_t type) {
  switch (type) {
    case CLOUDABI_FILETYPE_DIRECTORY:
      return 'd';
    case CLOUDABI_FILETYPE_REGULAR_FILE:
      return '-';
    case CLOUDABI_FILETYPE_SYMBOLIC_LINK:
      return 'l';
    case CLOUDABI_FILETYPE_CHARACTER_DEVICE:
      return 'c';
    case CLOUDABI_FILETYPE_BLOCK_DEVICE:
      return 'b';
    case CLOUDABI_FILETYPE_SOCKET_DGRAM:
    case CLOUDABI_FILETYPE_SOCKET_STREAM:
      return 's';
  }
  return '?';
}

void program_main(const argdata_t *ad) {
  cloudabi_fd_t dir;
  if (get_fd(ad, "dir", &dir) != 0 || get_fd(ad, "out", &out) != 0)
    cloudabi_sys_proc_exit(2);
  int status = 0;
  int error = read_dir(dir);
  if (error > 0) {
    put("ls: cannot read the directory: errno ");
    put_u64((uint64_t)error, 0);
    put("\n");
    cloudabi_sys_proc_exit(3);
  }
  if (error < 0)
    status = 5;
  sort_names();
  for (size_t i = 0; i < nentries; ++i) {
    const char *name = entries[i];
    size_t len = strlen(name);
    cloudabi_lookup_t lookup = {.fd = dir, .flags = 0};
    cloudabi_filestat_t st;
    cloudabi_errno_t e = cloudabi_sys_file_stat_get(lookup, name, len, &st);
    if (e != 0) {
      put("ls: ");
      put(name);
      put(": errno ");
      put_u64(e, 0);
      put("\n");
      status = 4;
      continue;
    }
    char type[3] = {type_letter(st.st_filetype), ' ', '\0'};
    put(type);
    put_u64(st.st_size, 10);
    put(" ");
    put_u64(st.st_mtim / 1000000000u, 0);
    put(" ");
    put(name);
    if (st.st_filetype == CLOUDABI_FILETYPE_SYMBOLIC_LINK) {
      char target[4096];
      size_t used;
      if (cloudabi_sys_file_readlink(dir, name, len, target, sizeof(target), &used) == 0) {
        put(" -> ");
        sdk_write_all(out, target, used);
      }
    }
    put("\n");
  }
  cloudabi_sys_proc_exit(status);
}
