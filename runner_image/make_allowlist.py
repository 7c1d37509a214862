"""make_allowlist.py: the names the execution log's lessons may say.

Run with the runner image's own Python, inside its root filesystem, so the
names are those of the libraries a script really gets (make_allowlist.sh
does it):

    PACKAGES_TXT="$(cat runner_image/packages.txt)" \\
      chroot /var/cache/imgsandbox/rootfs-current /usr/bin/python3 - \\
      < runner_image/make_allowlist.py > runner_image/allowlist.txt

Prints, sorted, one name a line:

    exception NAME        Python's builtin exceptions and the exception
                          classes of the installed libraries (cv2.error,
                          PIL.UnidentifiedImageError, numpy.linalg.LinAlgError)
    module NAME           the standard library's top-level modules
                          (sys.stdlib_module_names), the installed libraries
                          and their main submodules
    attr MODULE.NAME      public attributes of the main modules (and of their
                          main classes: PIL.Image.Image, numpy.ndarray, ...)
    alias NAME MODULE     the short names the package list imports as (np, ndi)
                          and a few conventional ones

The service reads the file (IMGSANDBOX_ALLOWLIST); nothing else of a
script's text reaches the AI context or the recommendations.
"""
import builtins
import importlib
import os
import sys
import warnings

# Modules whose public attributes may be named, with their main classes.
ATTR_MODULES = ["PIL", "PIL.Image", "PIL.ImageFilter", "PIL.ImageOps", "PIL.ImageDraw",
                "PIL.ImageFont", "PIL.ImageEnhance", "PIL.ImageChops", "PIL.ImageStat",
                "numpy", "numpy.linalg", "numpy.random", "cv2", "scipy", "scipy.ndimage",
                "skimage"]
ATTR_CLASSES = ["PIL.Image.Image", "PIL.ImageDraw.ImageDraw", "numpy.ndarray"]
# The standard library's modules a script commonly takes names from.
STDLIB_ATTR_MODULES = ["os", "os.path", "sys", "json", "math", "random", "time", "re", "io",
                       "glob", "shutil", "struct", "itertools", "functools", "collections",
                       "pathlib", "typing", "dataclasses", "statistics", "colorsys", "base64",
                       "hashlib", "string", "textwrap", "datetime", "copy", "operator",
                       "warnings", "traceback", "contextlib", "tempfile", "enum", "fractions",
                       "decimal", "heapq", "bisect", "array", "zlib"]
# Names reached only through a module's __getattr__ (deprecated, still
# working in the installed version): kept when getattr finds them.
PROBES = {"PIL.Image": ["ANTIALIAS", "LINEAR", "CUBIC", "NORMAL", "SEQUENCE", "CONTAINER"]}
# Short names scripts import libraries as, besides the package list's.
ALIASES = {"np": "numpy", "ndi": "scipy.ndimage", "cv": "cv2", "sk": "skimage",
           "ski": "skimage", "Img": "PIL.Image"}


def top_modules(packages_txt):
    """The modules of the package list's import lines, with their aliases."""
    mods, aliases = set(), {}
    for line in packages_txt.splitlines():
        cols = line.split("|")
        if line.lstrip().startswith("#") or len(cols) < 3:
            continue
        words = cols[1].replace(",", " ").split()
        if len(words) >= 2 and words[0] == "from":
            mods.add(words[1])
            for w in words[3:]:
                if w != "as":
                    mods.add(words[1] + "." + w)
        elif len(words) >= 2 and words[0] == "import":
            mods.add(words[1])
            if len(words) == 4 and words[2] == "as":
                aliases[words[3]] = words[1]
    return mods, aliases


def try_import(name):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return importlib.import_module(name)
    except Exception:
        return None


def public(names):
    return [n for n in names if not n.startswith("_") and n.isidentifier()]


def is_exception(v):
    return isinstance(v, type) and issubclass(v, BaseException)


def main():
    out = set()
    packages_txt = os.environ.get("PACKAGES_TXT", "")
    if not packages_txt and len(sys.argv) > 1:
        packages_txt = open(sys.argv[1]).read()
    mods, aliases = top_modules(packages_txt)
    aliases.update(ALIASES)
    for n in dir(builtins):
        if is_exception(getattr(builtins, n)):
            out.add("exception " + n)
    for n in sys.stdlib_module_names:
        if not n.startswith("_"):
            out.add("module " + n)
    skimage = try_import("skimage")
    subs = ["skimage." + s for s in getattr(skimage, "__all__", [])] if skimage else []
    if skimage:
        import pkgutil
        subs += ["skimage." + m.name for m in pkgutil.iter_modules(skimage.__path__)
                 if not m.name.startswith("_") and m.name not in ("conftest", "setup", "scripts")]
    for name in sorted(mods | set(ATTR_MODULES) | set(subs) | set(STDLIB_ATTR_MODULES)):
        m = try_import(name)
        if m is None:
            continue
        out.add("module " + name)
        for a in public(dir(m)):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                v = getattr(m, a, None)
            out.add("attr %s.%s" % (name, a))
            if is_exception(v) and getattr(v, "__module__", "builtins") != "builtins":
                out.add("exception %s.%s" % (name, a))
                home = v.__module__ or ""
                if home and not any(p.startswith("_") for p in home.split(".")):
                    out.add("exception %s.%s" % (home, v.__qualname__))
        for a in PROBES.get(name, []):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                try:
                    getattr(m, a)
                    out.add("attr %s.%s" % (name, a))
                except Exception:
                    pass
    for cls in ATTR_CLASSES:
        mod, _, attr = cls.rpartition(".")
        m = try_import(mod)
        c = getattr(m, attr, None) if m else None
        if c is not None:
            for a in public(dir(c)):
                out.add("attr %s.%s" % (cls, a))
    for alias, module in aliases.items():
        if try_import(module) is not None:
            out.add("alias %s %s" % (alias, module))
    print("# runner_image/allowlist.txt: the names the execution log's lessons may say")
    print("# (the AI context and the recommendations). Generated by runner_image/make_allowlist.sh")
    print("# with the runner image's Python; do not edit by hand.")
    print("# python %s; %s" % (sys.version.split()[0], ", ".join(
        "%s %s" % (n, getattr(try_import(n), "__version__", "?"))
        for n in ("numpy", "PIL", "scipy", "cv2", "skimage") if try_import(n))))
    for line in sorted(out):
        print(line)


if __name__ == "__main__":
    main()
