import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

// Dependencies point one way (services -> stores -> db; shared depends on nobody). A cycle
// means two modules can no longer be read, changed or tested apart, so any cycle fails here,
// listed with the imports that close it. `import type` counts: it couples the code as much.

const SRC = path.resolve('src');

/** Every relative import of every .ts file under src/, as paths relative to the repository. */
function importGraph(): Map<string, string[]> {
  const files = (fs.readdirSync(SRC, { recursive: true }) as string[])
    .filter((file) => file.endsWith('.ts'))
    .map((file) => path.join('src', file));
  const graph = new Map<string, string[]>();
  for (const file of files) {
    // preProcessFile sees static imports, `import type`, `export ... from` and import().
    const { importedFiles } = ts.preProcessFile(fs.readFileSync(file, 'utf8'), true, true);
    const targets = importedFiles
      .map((imported) => imported.fileName)
      .filter((specifier) => specifier.startsWith('.'))
      .map((specifier) => path.join(path.dirname(file), specifier.replace(/\.js$/, '.ts')));
    graph.set(file, [...new Set(targets)]);
  }
  return graph;
}

/** src/keypairs/service.ts -> "keypairs"; a file directly in src/ (app.ts) is its own module. */
function moduleOf(file: string): string {
  const [, first] = file.split(path.sep);
  return first!;
}

/** Strongly connected components with more than one member (or a member importing itself). */
function cycles(graph: Map<string, Set<string>>): string[][] {
  const index = new Map<string, number>();
  const lowLink = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const found: string[][] = [];
  let next = 0;
  const visit = (node: string): void => {
    index.set(node, next);
    lowLink.set(node, next);
    next += 1;
    stack.push(node);
    onStack.add(node);
    for (const target of graph.get(node) ?? []) {
      if (!index.has(target)) {
        visit(target);
        lowLink.set(node, Math.min(lowLink.get(node)!, lowLink.get(target)!));
      } else if (onStack.has(target)) {
        lowLink.set(node, Math.min(lowLink.get(node)!, index.get(target)!));
      }
    }
    if (lowLink.get(node) !== index.get(node)) return;
    const component: string[] = [];
    let member: string;
    do {
      member = stack.pop()!;
      onStack.delete(member);
      component.push(member);
    } while (member !== node);
    if (component.length > 1 || graph.get(node)?.has(node)) found.push(component.sort());
  };
  for (const node of [...graph.keys()].sort()) if (!index.has(node)) visit(node);
  return found;
}

/** The shortest path from `start` back to itself, as the list of nodes it passes ([start, ..., start]). */
function shortestLoop(graph: Map<string, Set<string>>, start: string): string[] {
  const cameFrom = new Map<string, string>();
  const queue = [start];
  while (queue.length > 0) {
    const node = queue.shift()!;
    for (const target of graph.get(node) ?? []) {
      if (target === start) {
        const path = [node];
        while (path[0] !== start) path.unshift(cameFrom.get(path[0]!)!);
        return [...path, start];
      }
      if (!cameFrom.has(target)) {
        cameFrom.set(target, node);
        queue.push(target);
      }
    }
  }
  return [start];
}

describe('import cycles', () => {
  const fileGraph = importGraph();

  it('no two top-level modules of src/ import each other, directly or through others', () => {
    const moduleGraph = new Map<string, Set<string>>();
    const evidence = new Map<string, string>();
    for (const [file, targets] of fileGraph) {
      for (const target of targets) {
        const from = moduleOf(file);
        const to = moduleOf(target);
        if (from === to) continue;
        if (!moduleGraph.has(from)) moduleGraph.set(from, new Set());
        moduleGraph.get(from)!.add(to);
        if (!evidence.has(`${from} -> ${to}`)) evidence.set(`${from} -> ${to}`, `${file} imports ${target}`);
      }
    }
    // Each tangle is named by its members and one shortest loop through them, each step with an import that makes it.
    const described = cycles(moduleGraph).map((component) => {
      const loop = shortestLoop(moduleGraph, component[0]!);
      const steps = loop.slice(1).map((to, index) => `${loop[index]} -> ${to} (${evidence.get(`${loop[index]} -> ${to}`)})`);
      return `${component.join(', ')}: ${steps.join('; ')}`;
    });
    expect(described).toEqual([]);
  });

  it('no file of src/ imports itself through others', () => {
    const graph = new Map([...fileGraph].map(([file, targets]) => [file, new Set(targets)]));
    expect(cycles(graph).map((component) => component.join(' <-> '))).toEqual([]);
  });

  it('sees the imports it checks', () => {
    // Guards the guard: a parser that found no imports would report no cycles.
    expect(fileGraph.get(path.join('src', 'shared', 'client_address.ts'))).toContain(path.join('src', 'shared', 'ip.ts'));
    expect(fileGraph.get(path.join('src', 'cli', 'commands', 'serve.ts'))).toContain(path.join('src', 'app.ts'));
  });
});
