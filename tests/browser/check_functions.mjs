// check_functions: no function of the page's or the browser tests' JavaScript
// longer than 80 lines, no file longer than 800.
//
// Parses with a real parser (acorn) every .js and .mjs file under static/
// (not static/vendor/: CodeMirror is Debian's) and tests/browser/ (not
// node_modules/), and measures every function: declarations, expressions,
// arrows, methods, getters and setters, from its first line to its last.
//
//   cd tests/browser && npm ci && node check_functions.mjs
//   node check_functions.mjs --max-function 60 --max-file 500   (other limits)
//
// Prints one line when all pass and exits 0; else lists each offender (and
// any file that does not parse) with file:line and exits 1.

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as acorn from 'acorn';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..', '..');
const TREES = [
  { dir: path.join(ROOT, 'static'), skip: ['vendor'] },
  { dir: HERE, skip: ['node_modules'] }
];
const FUNCTION_TYPES = new Set(['FunctionDeclaration', 'FunctionExpression', 'ArrowFunctionExpression']);

// Reads --max-function N and --max-file N; returns {maxFunction, maxFile}.
function readOptions(argv) {
  const options = { maxFunction: 80, maxFile: 800 };
  for (let i = 0; i < argv.length; i++) {
    const value = Number(argv[i + 1]);
    if (argv[i] === '--max-function' && value > 0) options.maxFunction = value;
    else if (argv[i] === '--max-file' && value > 0) options.maxFile = value;
    else continue;
    i++;
  }
  return options;
}

// Every .js and .mjs file under dir, its skipped folders left out, sorted.
function listFiles(dir, skip) {
  const found = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (!skip.includes(entry.name)) found.push(...listFiles(full, skip));
    } else if (entry.isFile() && /\.m?js$/.test(entry.name)) {
      found.push(full);
    }
  }
  return found.sort();
}

// The syntax tree of a file: as a module first, then as a classic script.
function parse(text) {
  const options = { ecmaVersion: 'latest', locations: true, allowHashBang: true };
  try {
    return acorn.parse(text, { ...options, sourceType: 'module' });
  } catch (moduleError) {
    try {
      return acorn.parse(text, { ...options, sourceType: 'script' });
    } catch {
      throw moduleError;
    }
  }
}

// A readable name for a function node, from itself or from what holds it.
function functionName(node, parent) {
  if (node.id && node.id.name) return node.id.name;
  if (parent) {
    const key = parent.key || parent.id || parent.left;
    if (key && key.type === 'Identifier') return key.name;
    if (key && key.type === 'MemberExpression' && key.property) return key.property.name || '(member)';
    if (key && key.type === 'Literal') return String(key.value);
  }
  return node.type === 'ArrowFunctionExpression' ? '(arrow)' : '(anonymous)';
}

// Calls visit(fn, parent) for every function node in the tree, depth first.
function eachFunction(node, parent, visit) {
  if (!node || typeof node.type !== 'string') return;
  if (FUNCTION_TYPES.has(node.type)) visit(node, parent);
  for (const key of Object.keys(node)) {
    if (key === 'loc') continue;
    const child = node[key];
    if (Array.isArray(child)) child.forEach((c) => eachFunction(c, node, visit));
    else if (child && typeof child.type === 'string') eachFunction(child, node, visit);
  }
}

// The functions of one file: [{name, line, lines}]. A method is measured
// from its name (the line its definition starts on).
function measureFunctions(tree) {
  const found = [];
  eachFunction(tree, null, (fn, parent) => {
    const holder = parent && (parent.type === 'MethodDefinition' || parent.type === 'Property') &&
      parent.value === fn ? parent : null;
    const start = (holder || fn).loc.start.line;
    found.push({ name: functionName(fn, parent), line: start, lines: fn.loc.end.line - start + 1 });
  });
  return found;
}

// Checks one file; returns {lines, functions, problems: [text]}.
function checkFile(file, options) {
  const rel = path.relative(ROOT, file);
  const text = fs.readFileSync(file, 'utf8');
  const lines = text.split('\n').length - (text.endsWith('\n') ? 1 : 0);
  const problems = [];
  if (lines > options.maxFile) problems.push(`${rel}: ${lines} lines (the limit is ${options.maxFile})`);
  let functions = [];
  try {
    functions = measureFunctions(parse(text)).map((f) => ({ ...f, file: rel }));
  } catch (e) {
    problems.push(`${rel}: does not parse: ${e.message}`);
  }
  for (const f of functions) {
    if (f.lines > options.maxFunction) {
      problems.push(`${rel}:${f.line}: function ${f.name} is ${f.lines} lines (the limit is ${options.maxFunction})`);
    }
  }
  return { file: rel, lines, functions, problems };
}

function longest(list, size) {
  return list.reduce((best, x) => (best == null || size(x) > size(best) ? x : best), null);
}

function main() {
  const options = readOptions(process.argv.slice(2));
  const files = TREES.flatMap((t) => listFiles(t.dir, t.skip));
  const results = files.map((f) => checkFile(f, options));
  const problems = results.flatMap((r) => r.problems);
  if (problems.length) {
    process.stdout.write(problems.map((p) => `check_functions: ${p}\n`).join(''));
    process.stdout.write(`check_functions: ${problems.length} problem(s) in ${files.length} files\n`);
    process.exit(1);
  }
  const functions = results.flatMap((r) => r.functions);
  const fn = longest(functions, (f) => f.lines);
  const file = longest(results, (r) => r.lines);
  process.stdout.write(`check_functions: ${files.length} files, ${functions.length} functions, all within ` +
    `${options.maxFunction} lines (longest: ${fn ? `${fn.name} at ${fn.file}:${fn.line}, ${fn.lines}` : 'none'}); ` +
    `files within ${options.maxFile} (longest: ${file ? `${file.file}, ${file.lines}` : 'none'})\n`);
}

main();
