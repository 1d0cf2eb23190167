# shellcheck shell=bash
# rankpulse-env.sh — sourced by rankpulse-backup and rankpulse-restore (installed
# beside them): resolve DATABASE_URL from the environment or an env file.
# Needs: die(), ENV_FILE (may be empty).

# env_file_get FILE KEY: the value of KEY in a rankpulse env file (KEY=VALUE,
# optional "export ", optional quotes, '#' comments; the last one wins).
env_file_get() {
	awk -v want="$2" '
		{
			sub(/\r$/, ""); sub(/^[ \t]+/, "")
			if ($0 == "" || substr($0, 1, 1) == "#") next
			sub(/^export[ \t]+/, "")
			eq = index($0, "="); if (eq == 0) next
			k = substr($0, 1, eq - 1); sub(/[ \t]+$/, "", k)
			if (k != want) next
			v = substr($0, eq + 1); sub(/^[ \t]+/, "", v)
			q = substr(v, 1, 1)
			if (q == "\"" || q == "'\''") {
				rest = substr(v, 2); e = index(rest, q)
				v = e ? substr(rest, 1, e - 1) : rest
			} else { sub(/[ \t]+#.*$/, "", v); sub(/[ \t]+$/, "", v) }
			val = v; found = 1
		}
		END { if (found) printf "%s", val }' "$1"
}

if [ -n "$ENV_FILE" ]; then
	[ -r "$ENV_FILE" ] || die "cannot read $ENV_FILE"
fi
if [ -z "${DATABASE_URL:-}" ] && [ -n "$ENV_FILE" ]; then
	DATABASE_URL=$(env_file_get "$ENV_FILE" DATABASE_URL)
fi
