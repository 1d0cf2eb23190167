#include "auth/password.h"

#include <string.h>

#define OPS crypto_pwhash_OPSLIMIT_INTERACTIVE
#define MEM crypto_pwhash_MEMLIMIT_INTERACTIVE

enum rp_err password_hash(const char *pw, size_t len, char out[PASSWORD_HASH_MAX])
{
	return crypto_pwhash_str(out, pw, len, OPS, MEM) == 0 ? RP_OK : RP_ENOMEM;
}

bool password_verify(const char *hash, const char *pw, size_t len)
{
	if (hash == NULL || strlen(hash) >= PASSWORD_HASH_MAX)
		return false;
	return crypto_pwhash_str_verify(hash, pw, len) == 0;
}

bool password_needs_rehash(const char *hash)
{
	return crypto_pwhash_str_needs_rehash(hash, OPS, MEM) != 0;
}

void password_verify_unknown(const char *pw, size_t len)
{
	static char dummy[PASSWORD_HASH_MAX];
	if (dummy[0] == '\0' && password_hash("not-a-real-password", 19, dummy) != RP_OK)
		return;
	(void)password_verify(dummy, pw, len);
}
