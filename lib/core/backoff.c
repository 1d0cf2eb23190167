#include "core/backoff.h"

void backoff_init(struct backoff *b, long long min_us, long long max_us)
{
	b->next_us = 0;
	b->delay_us = 0;
	b->min_us = min_us;
	b->max_us = max_us;
}

bool backoff_ready(const struct backoff *b, long long now_us)
{
	return now_us >= b->next_us;
}

void backoff_failed(struct backoff *b, long long now_us)
{
	b->delay_us = b->delay_us == 0 ? b->min_us : b->delay_us * 2;
	if (b->delay_us > b->max_us)
		b->delay_us = b->max_us;
	b->next_us = now_us + b->delay_us;
}

void backoff_succeeded(struct backoff *b)
{
	b->delay_us = 0;
	b->next_us = 0;
}
