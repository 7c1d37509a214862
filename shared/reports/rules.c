#include <stdio.h>
#include <string.h>

#include "base/outbuf.h"
#include "reports/rules.h"
#include "base/text.h"

/*
 * The rule base: the first rule whose category, type and needle (a
 * substring of the pattern) match a pattern gives its advice.
 */
static const struct rule rules[] = {
	{ "missing_module", "import", NULL, "No module named",
	  "{module} is not installed in the sandbox{suggest}. Import only what is installed: "
	  "{imports}." },
	{ "cannot_import_name", "import", NULL, "cannot import name",
	  "That name does not exist in the installed version of the library; use these import "
	  "lines, which work here: {imports}." },
	{ "pillow_antialias", "attribute", NULL, "'ANTIALIAS'",
	  "Image.ANTIALIAS is gone from Pillow 10 (deprecated before): use Image.LANCZOS "
	  "(likewise Image.BILINEAR, Image.BICUBIC, Image.NEAREST), which works in every version." },
	{ "pillow_textsize", "attribute", NULL, "'textsize'",
	  "ImageDraw.textsize is gone from Pillow 10: measure text with "
	  "draw.textbbox((0, 0), text, font=font)." },
	{ "none_value", "attribute", NULL, "'NoneType' object has no attribute",
	  "A call returned None: cv2.imread returns None when the file is missing or unreadable "
	  "(check `if img is None`), and in-place methods such as Image.thumbnail or list.sort "
	  "return None; do not chain on them." },
	{ "array_not_image", "attribute", NULL, "'numpy.ndarray' object has no attribute",
	  "A numpy array is not a PIL Image: wrap it with Image.fromarray(arr.astype(np.uint8)) "
	  "before using Image methods such as save or convert." },
	{ "image_not_array", "attribute", NULL, "'Image' object has no attribute",
	  "A PIL Image is not a numpy array: use np.asarray(img) for .shape and arithmetic, "
	  "and img.size for (width, height)." },
	{ "attribute_api", "attribute", NULL, NULL,
	  "The attribute does not exist in the installed version; stick to long-standing APIs "
	  "of the installed libraries ({libs})." },
	{ "input_missing", "file", NULL, "/input/image.png",
	  "No image was sent with that run: send an image (or use the sample), and in the "
	  "script check os.path.exists(\"/input/image.png\") and exit with a clear message." },
	{ "output_path", "file", NULL, "/output",
	  "Write only /output/result.png (create nothing else there); the rest of the file "
	  "system is read-only, scratch files go to /tmp." },
	{ "paths", "file", NULL, NULL,
	  "Only two files exist for a script: read /input/image.png and write "
	  "/output/result.png; everything else is read-only (scratch space: /tmp)." },
	{ "save_result", "output", NULL, "no_output",
	  "Save the result as PNG to /output/result.png (img.save(\"/output/result.png\") or "
	  "cv2.imwrite(\"/output/result.png\", arr)); showing or printing an image returns "
	  "nothing." },
	{ "bad_result", "output", NULL, "bad_output",
	  "/output/result.png must be a real PNG of at most {output}: save with a .png name "
	  "(or format=\"PNG\") from an 8-bit image (mode RGB, RGBA or L), downscaled if huge." },
	{ "print_less", "output", NULL, "output_limit",
	  "Print a summary (shape, dtype, a few numbers), never every pixel or a line per "
	  "loop step: a run that prints more than a few MiB is stopped." },
	{ "time_limit", "timeout", NULL, NULL,
	  "A run is stopped after {timeout}: downscale large images first "
	  "(img.thumbnail((2048, 2048))), never loop over pixels in Python, use numpy "
	  "vectorised operations and library filters instead." },
	{ "memory_limit", "memory", NULL, NULL,
	  "A run has {memory} of memory: downscale before processing, keep arrays uint8 "
	  "(float64 takes 8 times the room), avoid copies of full-size arrays." },
	{ "pillow_jpeg_alpha", "image", NULL, "as JPEG",
	  "JPEG has no alpha channel: img.convert(\"RGB\") before saving as JPEG, or better, "
	  "save PNG to /output/result.png." },
	{ "pillow_mode", "image", NULL, "mode",
	  "Convert to the mode the operation needs first: img.convert(\"RGB\") for colour "
	  "work, img.convert(\"L\") for single-channel filters; check img.mode." },
	{ "not_an_image", "image", NULL, "cannot identify image file",
	  "The input could not be read as an image: open /input/image.png with Image.open "
	  "and make sure an image (PNG or JPEG) was sent." },
	{ "opencv_empty", "image", "error", "empty()",
	  "OpenCV got an empty image: cv2.imread returns None for a missing or unreadable "
	  "file; check `if img is None` before processing." },
	{ "opencv_arrays", "image", "error", NULL,
	  "OpenCV wants numpy uint8 arrays in BGR order: arr = cv2.cvtColor(np.asarray("
	  "img.convert(\"RGB\")), cv2.COLOR_RGB2BGR), and COLOR_BGR2RGB back before "
	  "Image.fromarray." },
	{ "opencv_type", "type", NULL, "cv::UMat",
	  "OpenCV wants numpy uint8 arrays (BGR order), not PIL Images: "
	  "cv2.cvtColor(np.asarray(img.convert(\"RGB\")), cv2.COLOR_RGB2BGR)." },
	{ "fromarray_dtype", "type", NULL, "Cannot handle this data type",
	  "Image.fromarray wants uint8 arrays shaped (h, w), (h, w, 3) or (h, w, 4): "
	  "np.clip(arr, 0, 255).astype(np.uint8)." },
	{ "none_type", "type", NULL, "'NoneType'",
	  "A value is None where an object was expected: cv2.imread returns None for a missing "
	  "file, and in-place methods return None." },
	{ "user_params", "data_access", "KeyError", NULL,
	  "Do not assume keys exist: read parameters with params = json.loads("
	  "os.environ.get(\"USER_PARAMS\") or \"{}\") and params.get(\"name\", default)." },
	{ "array_shape", "data_access", "IndexError", NULL,
	  "Check shapes before indexing: greyscale arrays are (h, w), colour (h, w, 3 or 4); "
	  "img.convert(\"RGB\") first to be sure of three channels." },
	{ "syntax", "syntax", NULL, NULL,
	  "Send plain, complete Python 3 source: no Markdown fences (```), no prose around "
	  "the code, consistent indentation with spaces." },
	{ "undefined_name", "name", NULL, NULL,
	  "Import or define every name before using it{name}." },
	{ "values", "value", NULL, NULL,
	  "Validate values before use (parameters from USER_PARAMS, sizes that may be 0, "
	  "divisions) and convert types explicitly (int(), float())." },
	{ "types", "type", NULL, NULL,
	  "Check the types passed to library calls: Pillow wants Image objects and int sizes, "
	  "numpy and OpenCV want uint8 arrays." },
	{ "busy", "rejected", NULL, "busy",
	  "Every sandbox was busy: retry after the Retry-After seconds." },
	{ "rejected", "rejected", NULL, NULL,
	  "The request was refused before running: send the code as UTF-8 within the size "
	  "limits, images as PNG or JPEG, params as a JSON object." },
	{ "other", NULL, NULL, NULL,
	  "Read the traceback of the example attempt; catch the case in the script and print "
	  "a clear message." },
};

/* Python modules worth suggesting for a NameError. */
static const char *const stdlib_names[] = { "os", "sys", "json", "math", "random", "time",
	"re", "io", "glob", "shutil", "struct", "itertools", "functools", "collections", NULL };

const struct rule *
rules_match(const char *category, const char *error_type, const char *pattern)
{
	const struct rule *r;
	size_t i;

	for (i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
		r = &rules[i];
		if (r->category != NULL && strcmp(r->category, category) != 0)
			continue;
		if (r->type != NULL && strcmp(r->type, error_type) != 0)
			continue;
		if (r->needle != NULL && strstr(pattern, r->needle) == NULL)
			continue;
		return r;
	}
	return &rules[sizeof(rules) / sizeof(rules[0]) - 1];
}

/* Copies the text between the first "'" after marker in pattern and the
 * next "'" into out. Returns 1, or 0 when there is none (or it is empty). */
static int
quoted_after(const char *pattern, const char *marker, char *out, size_t outlen)
{
	const char *p, *q;

	if ((p = strstr(pattern, marker)) == NULL ||
	    (p = strchr(p + strlen(marker) - 1, '\'')) == NULL)
		return 0;
	p++;
	if ((q = strchr(p, '\'')) == NULL || q == p)
		return 0;
	utf8_copy(out, outlen, p, (size_t)(q - p));
	return 1;
}

/* Appends the library list (import lines, but the standard library's) to o. */
static void
put_imports(struct outbuf *o, const struct package_list *pk)
{
	size_t i, k = 0;

	if (pk->n == 0) {
		outbuf_puts(o, "the libraries of the sandbox's package list");
		return;
	}
	for (i = 0; i < pk->n; i++) {
		if (strcmp(pk->p[i].import_line, "import sys") == 0)
			continue;
		if (k++ > 0)
			outbuf_puts(o, ", ");
		outbuf_puts(o, "`");
		outbuf_puts(o, pk->p[i].import_line);
		outbuf_puts(o, "`");
	}
}

/* Appends the libraries' short names ("Pillow, NumPy") to o. */
static void
put_libs(struct outbuf *o, const struct package_list *pk)
{
	size_t i, k = 0;

	if (pk->n == 0) {
		outbuf_puts(o, "see the package list");
		return;
	}
	for (i = 0; i < pk->n; i++) {
		if (strcmp(pk->p[i].import_line, "import sys") == 0)
			continue;
		if (k++ > 0)
			outbuf_puts(o, ", ");
		outbuf_put(o, pk->p[i].about, strcspn(pk->p[i].about, ":"));
	}
}

/* Appends the nearest installed library to the missing module, if any. */
static void
put_suggest(struct outbuf *o, const struct rules_ctx *c)
{
	char buf[160];
	int k;

	if (quoted_after(c->pattern, "No module named", buf, sizeof(buf)) &&
	    (k = packages_nearest(c->pk, buf)) >= 0) {
		outbuf_puts(o, "; the nearest installed library is imported with `");
		outbuf_puts(o, c->pk->p[k].import_line);
		outbuf_puts(o, "`");
	}
}

/* Appends where an undefined name comes from: an installed library's
 * import line, or a module of the standard library. */
static void
put_name(struct outbuf *o, const struct rules_ctx *c)
{
	char buf[160];
	size_t i;
	int k;

	if (!quoted_after(c->pattern, "name ", buf, sizeof(buf)))
		return;
	if ((k = packages_binding(c->pk, buf)) >= 0) {
		outbuf_puts(o, ": `");
		outbuf_puts(o, buf);
		outbuf_puts(o, "` comes from `");
		outbuf_puts(o, c->pk->p[k].import_line);
		outbuf_puts(o, "`");
		return;
	}
	for (i = 0; stdlib_names[i] != NULL; i++)
		if (strcmp(buf, stdlib_names[i]) == 0) {
			outbuf_puts(o, ": add `import ");
			outbuf_puts(o, buf);
			outbuf_puts(o, "`");
			return;
		}
}

/* Appends a size limit in words ("1 GiB"), or what to say without it. */
static void
put_bytes(struct outbuf *o, int64_t bytes, const char *unknown)
{
	char buf[64];

	outbuf_puts(o, bytes > 0 ? size_words(buf, sizeof(buf), bytes) : unknown);
}

/* Appends what the placeholder {word} stands for; an unknown one as it is. */
static void
put_placeholder(struct outbuf *o, const char *word, const struct rules_ctx *c)
{
	char buf[160];

	if (strcmp(word, "module") == 0) {
		/* Named only when it is a module of ours (a standard one the
		 * sandbox lacks); a script's own invention is not repeated. */
		if (quoted_after(c->pattern, "No module named", buf, sizeof(buf)) &&
		    allowlist_module(c->allow, buf)) {
			outbuf_puts(o, "`");
			outbuf_puts(o, buf);
			outbuf_puts(o, "`");
		} else
			outbuf_puts(o, "That module");
	} else if (strcmp(word, "suggest") == 0)
		put_suggest(o, c);
	else if (strcmp(word, "imports") == 0)
		put_imports(o, c->pk);
	else if (strcmp(word, "libs") == 0)
		put_libs(o, c->pk);
	else if (strcmp(word, "timeout") == 0)
		outbuf_puts(o, c->limits->timeout_ms > 0 ? report_seconds(buf, sizeof(buf),
		    c->limits->timeout_ms) : "its time limit");
	else if (strcmp(word, "memory") == 0)
		put_bytes(o, c->limits->memory_bytes, "a bounded amount");
	else if (strcmp(word, "output") == 0)
		put_bytes(o, c->limits->output_bytes, "the output limit");
	else if (strcmp(word, "name") == 0)
		put_name(o, c);
	else {
		outbuf_puts(o, "{");
		outbuf_puts(o, word);
		outbuf_puts(o, "}");
	}
}

void
rules_advice(char *out, size_t outlen, const struct rule *r, const struct rules_ctx *c)
{
	struct outbuf o;
	const char *p, *close;
	char word[128];

	outbuf_init(&o, out, outlen);
	for (p = r->advice; *p != '\0' && !o.full; p++) {
		if (*p != '{' || (close = strchr(p, '}')) == NULL || close - p > 16) {
			outbuf_put(&o, p, 1);
			continue;
		}
		utf8_copy(word, sizeof(word), p + 1, (size_t)(close - p - 1));
		p = close;
		put_placeholder(&o, word, c);
	}
}
