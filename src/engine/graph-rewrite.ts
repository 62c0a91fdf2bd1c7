import { onnx } from 'onnx-proto';

/**
 * Graph rewrites the surgery needs besides adding outputs: inlining the branch of an `If` whose
 * condition the engine itself feeds (a merged decoder's `use_cache_branch`), so that the attention
 * inside it becomes visible and fetchable, and pruning every node that no longer feeds an output.
 */

const { AttributeType } = onnx.AttributeProto;

function subgraphsOf(n: onnx.INodeProto): onnx.IGraphProto[] {
  const out: onnx.IGraphProto[] = [];
  for (const a of n.attribute ?? []) {
    if (a.type === AttributeType.GRAPH && a.g) out.push(a.g);
    if (a.type === AttributeType.GRAPHS) out.push(...(a.graphs ?? []));
  }
  return out;
}

/** Every value a node reads, including what its subgraphs read from the enclosing scopes. */
function valuesRead(n: onnx.INodeProto): string[] {
  const names = (n.input ?? []).filter(Boolean);
  for (const g of subgraphsOf(n)) {
    const local = new Set<string>([
      ...(g.input ?? []).map((i) => i.name ?? ''),
      ...(g.initializer ?? []).map((t) => t.name ?? ''),
    ]);
    for (const inner of g.node ?? []) {
      for (const o of inner.output ?? []) local.add(o);
    }
    for (const inner of g.node ?? []) for (const r of valuesRead(inner)) if (!local.has(r)) names.push(r);
    for (const o of g.output ?? []) if (o.name && !local.has(o.name)) names.push(o.name);
  }
  return names;
}

/** How many nodes of this type the graph's subgraphs hold, at any depth. */
export function subgraphsHold(graph: onnx.IGraphProto, opType: string): number {
  let count = 0;
  for (const n of graph.node ?? []) {
    for (const g of subgraphsOf(n)) {
      count += (g.node ?? []).filter((x) => x.opType === opType).length + subgraphsHold(g, opType);
    }
  }
  return count;
}

/**
 * Replaces each `If` whose condition is a graph input with a value known in advance by the nodes
 * of the branch that value selects. Branch outputs are bound to the `If`'s outputs with Identity
 * nodes; the branch's initializers and value infos move to the graph. Returns how many were inlined.
 */
export function inlineKnownIfs(graph: onnx.GraphProto, known: ReadonlyMap<string, boolean>): number {
  let inlined = 0;
  const usedNames = new Set((graph.node ?? []).map((n) => n.name ?? ''));
  for (;;) {
    const at = graph.node.findIndex(
      (n) => n.opType === 'If' && (n.domain ?? '') === '' && known.has(n.input?.[0] ?? ''),
    );
    if (at < 0) return inlined;
    const n = graph.node[at];
    const branchName = known.get(n.input?.[0] ?? '') ? 'then_branch' : 'else_branch';
    const branch = n.attribute?.find((a) => a.name === branchName)?.g;
    if (!branch) throw new Error(`the If node "${n.name ?? ''}" has no ${branchName}`);
    const body: onnx.INodeProto[] = (branch.node ?? []).map((inner) => {
      // Node names must stay unique once the branch joins the graph.
      let name = inner.name ?? '';
      if (name && usedNames.has(name)) name = `${n.name ?? 'If'}/${name}`;
      usedNames.add(name);
      return { ...inner, name };
    });
    (branch.output ?? []).forEach((o, i) => {
      const target = n.output?.[i];
      if (target && o.name)
        body.push(
          onnx.NodeProto.create({
            opType: 'Identity',
            input: [o.name],
            output: [target],
            name: `${n.name ?? 'If'}/${branchName}/out${i}`,
          }),
        );
    });
    graph.node.splice(at, 1, ...body.map((b) => onnx.NodeProto.create(b)));
    graph.initializer.push(...(branch.initializer ?? []).map((t) => onnx.TensorProto.create(t)));
    graph.valueInfo.push(...(branch.valueInfo ?? []).map((v) => onnx.ValueInfoProto.create(v)));
    inlined++;
  }
}

/**
 * Removes the nodes and initializers that no output depends on. ONNX Runtime does not do this
 * itself: without it a decoder's language-model head still runs (31% of a run for the bundled
 * model) although only the attention is fetched. Graph inputs are kept: they are fed by name.
 */
export function pruneToOutputs(graph: onnx.GraphProto): { nodes: number; initializers: number } {
  const needed = new Set(graph.output.map((o) => o.name ?? ''));
  const keep = new Array<boolean>(graph.node.length).fill(false);
  for (let i = graph.node.length - 1; i >= 0; i--) {
    const n = graph.node[i];
    if (!(n.output ?? []).some((o) => needed.has(o))) continue;
    keep[i] = true;
    for (const r of valuesRead(n)) needed.add(r);
  }
  const before = { nodes: graph.node.length, initializers: graph.initializer.length };
  graph.node = graph.node.filter((_, i) => keep[i]);
  const dropped = new Set(graph.initializer.filter((t) => !needed.has(t.name ?? '')).map((t) => t.name ?? ''));
  graph.initializer = graph.initializer.filter((t) => !dropped.has(t.name ?? ''));
  // Older exports also list initializers as inputs; one whose data is gone must not become a
  // required input.
  graph.input = graph.input.filter((i) => !dropped.has(i.name ?? ''));
  graph.valueInfo = graph.valueInfo.filter((v) => needed.has(v.name ?? ''));
  return { nodes: before.nodes - graph.node.length, initializers: before.initializers - graph.initializer.length };
}
