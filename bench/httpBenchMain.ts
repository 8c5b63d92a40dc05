// One size of the HTTP benchmark in its own process; prints the result as JSON.
import { benchHttp } from './httpBench.ts';

const objects = Number(process.argv[2] ?? 10_000);
const result = await benchHttp(objects, objects >= 100_000 ? 15 : 40);
process.stdout.write(JSON.stringify(result) + '\n');
