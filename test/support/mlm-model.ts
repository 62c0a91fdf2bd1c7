import * as fs from 'node:fs';
import * as path from 'node:path';
import { onnx } from 'onnx-proto';
import { FIXTURES } from './paths';
import { bertTokenizerJson } from './tokenizers';

/**
 * bert.onnx (the Hugging Face fixture) with a masked-LM head: a MatMul from its last hidden states
 * to logits over its 1,000 ids, with fixed weights. Its logits say, at each position, which token
 * the model would put there.
 */
export function bertWithMlmHead(): Uint8Array {
  const model = onnx.ModelProto.decode(new Uint8Array(fs.readFileSync(path.join(FIXTURES, 'bert.onnx'))));
  const graph = model.graph as onnx.GraphProto;
  const hidden = graph.output[0].name ?? '';
  graph.initializer.push(
    onnx.TensorProto.create({
      name: 'mlm_w',
      dims: [64, 1000],
      dataType: onnx.TensorProto.DataType.FLOAT,
      floatData: Array.from({ length: 64000 }, (_, i) => Math.sin(i)),
    }),
  );
  graph.node.push(
    onnx.NodeProto.create({ opType: 'MatMul', input: [hidden, 'mlm_w'], output: ['logits'], name: 'mlm_head' }),
  );
  graph.output.push(onnx.ValueInfoProto.create({ name: 'logits' }));
  return onnx.ModelProto.encode(model).finish();
}

/** That model as a folder in the Hugging Face layout, its tokenizer with a [MASK] token. */
export function writeMlmFolder(dir: string): void {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'model.onnx'), bertWithMlmHead());
  fs.writeFileSync(path.join(dir, 'tokenizer.json'), bertTokenizerJson(['cat', 'sat'], { mask: true }));
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ model_type: 'bert', max_position_embeddings: 512 }));
}
