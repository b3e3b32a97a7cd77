/* fuzz.h: helpers shared by the libFuzzer targets (tests/fuzz/fuzz_*.c, built by `make fuzz` with clang,
 * -fsanitize=fuzzer,address,undefined). Each target feeds one parser of outside input and checks what the parser
 * promises (error text set on failure, print/parse round trips, NUL-terminated fields), so a broken promise
 * aborts like a crash does. */
#ifndef RW_FUZZ_H
#define RW_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* A property failed: print it and abort, which libFuzzer reports as a crash with the input saved. */
#define FUZZ_CHECK(cond)                                                                               \
	do {                                                                                           \
		if (!(cond)) {                                                                         \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);       \
			abort();                                                                       \
		}                                                                                      \
	} while (0)

/* The input as a NUL-terminated string (text parsers take C strings: bytes after an embedded NUL are not seen,
 * as with a file read into a string). Caller frees. */
static inline char *fuzz_cstr(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	if (!s)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

/* Is the fixed-size field NUL-terminated? */
#define FUZZ_TERMINATED(field) (memchr((field), '\0', sizeof(field)) != NULL)

#endif
