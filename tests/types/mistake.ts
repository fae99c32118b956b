// Must NOT compile: proves the types test can fail (a text read is not a number).
import { Sandbox } from 'sdk';

export async function wrong(sbx: Sandbox): Promise<number> {
  const n: number = await sbx.files.read('/tmp/a.txt');
  return n;
}
