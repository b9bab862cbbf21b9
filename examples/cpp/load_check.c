/*
 * trtbench_load from plain C (C11): a load run against an OpenAI-compatible server from
 * a TOML spec, a per-level callback, the stop flag, and the error that names a bad field.
 * Prints the run's JSON summary on stdout (scripts/test-capi.sh checks its figures);
 * everything else goes to stderr. Exit status 0 only when every check passed.
 *
 * usage: load_check URL TOKENIZER   (TOKENIZER: a model .gguf or a tokenizer.json)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <trtbench.h>

static int failures = 0;

#define CHECK(cond, ...)                                  \
    do {                                                  \
        if (!(cond)) {                                    \
            fprintf(stderr, "load_check: FAILED: " __VA_ARGS__); \
            fprintf(stderr, "\n");                        \
            failures++;                                   \
        }                                                 \
    } while (0)

struct levels {
    int seen;
    int ok;
};

static void on_level(void *user, const char *point_json) {
    struct levels *l = user;
    l->seen++;
    if (strstr(point_json, "\"status\":\"ok\"") != NULL) l->ok++;
    fprintf(stderr, "load_check: level %d finished (%zu bytes of JSON)\n", l->seen,
            strlen(point_json));
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s URL TOKENIZER\n", argv[0]);
        return 2;
    }
    const char *url = argv[1], *tokenizer = argv[2];
    char spec[4096];

    /* A misspelt field: NULL, and the error starts with its name. */
    snprintf(spec, sizeof spec, "url = \"%s\"\nconcurrency = 1\nnum_promts = 3\n", url);
    char *bad = trtbench_load(spec, NULL, NULL, NULL);
    CHECK(bad == NULL, "a misspelt field was accepted");
    CHECK(strncmp(trtbench_last_error(), "num_promts: ", 12) == 0, "error names the field: %s",
          trtbench_last_error());
    trtbench_string_free(bad);

    /* A value out of range, in JSON this time. */
    snprintf(spec, sizeof spec, "{\"url\": \"%s\", \"concurrency\": [1, 0]}", url);
    bad = trtbench_load(spec, NULL, NULL, NULL);
    CHECK(bad == NULL && strncmp(trtbench_last_error(), "concurrency: ", 13) == 0,
          "concurrency 0 refused by name: %s", trtbench_last_error());
    trtbench_string_free(bad);

    /* A stop flag raised before the run: it ends at once, interrupted. */
    TrtbenchStop *stop = trtbench_stop_new();
    trtbench_stop_request(stop);
    snprintf(spec, sizeof spec,
             "url = \"%s\"\ntokenizer = \"%s\"\nconcurrency = 1\nnum_prompts = 50\nosl = 64\n",
             url, tokenizer);
    char *stopped = trtbench_load(spec, NULL, NULL, stop);
    CHECK(stopped != NULL, "stopped run failed: %s", trtbench_last_error());
    CHECK(stopped && strstr(stopped, "\"interrupted\":true"), "a raised flag interrupts");
    trtbench_string_free(stopped);
    trtbench_stop_free(stop);

    /* The real run: two levels, four requests each. */
    snprintf(spec, sizeof spec,
             "url = \"%s\"\ntokenizer = \"%s\"\nconcurrency = [1, 2]\nnum_prompts = 4\n"
             "isl = 32\nosl = 8\nwarmup = 1\n",
             url, tokenizer);
    struct levels seen = {0, 0};
    char *summary = trtbench_load(spec, on_level, &seen, NULL);
    CHECK(summary != NULL, "load failed: %s", trtbench_last_error());
    CHECK(seen.seen == 2 && seen.ok == 2, "2 ok levels called back, saw %d (%d ok)", seen.seen,
          seen.ok);
    if (summary) {
        CHECK(strstr(summary, "\"interrupted\":false") != NULL, "not interrupted");
        CHECK(strstr(summary, "\"path\":null") != NULL, "no out: a temporary file");
        puts(summary);
    }
    trtbench_string_free(summary);
    if (failures) fprintf(stderr, "load_check: %d check(s) failed\n", failures);
    return failures ? 1 : 0;
}
