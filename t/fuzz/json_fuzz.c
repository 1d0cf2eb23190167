/* Build: clang -g -O1 -fsanitize=fuzzer,address,undefined -Ilib $(pkg-config --cflags json-c) t/fuzz/json_fuzz.c lib/http/json.c $(pkg-config --libs json-c) -o build/json_fuzz
 * Run:   mkdir -p build/json_corpus && build/json_fuzz -max_total_time=60 -max_len=4096 build/json_corpus
 * Checks: no crash/leak/UB; failures carry a reason; accepted input re-serializes to text that parses to an equal value. */
#include <stdint.h>
#include <stdlib.h>

#include "http/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct json_object *v = NULL, *w = NULL;
	const char *why = NULL;
	enum rp_err rc = json_parse_strict((const char *)data, size, &v, &why);

	if (rc != RP_OK) {
		if (rc != RP_EBADJSON || v != NULL || why == NULL)
			abort();
		return 0;
	}

	size_t len = 0;
	const char *text = json_to_text(v, &len);
	if (text == NULL)
		abort();
	rc = json_parse_strict(text, len, &w, &why);
	if (rc != RP_OK || !json_object_equal(v, w))
		abort();
	json_object_put(w);
	json_object_put(v);
	return 0;
}
