import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { startTestServer, type TestServer } from '../helpers/server';

/**
 * The docs stay true: every `sh` block of these pages runs, in order, in one bash session per page, against a
 * real server on a fresh database (the documented address is pointed at it). A block preceded by
 * `<!-- smoke: skip … -->` is left out (it installs, starts a second service or needs a tool CI lacks; the
 * comment says which). A block fails the page when bash fails or when an answer carries Placement's error body.
 */
const PAGES = ['README.md', 'docs/api-by-example.md', 'docs/emplace-extensions.md'];
const ROOT = path.join(__dirname, '..', '..');
const SKIP = /<!--\s*smoke:\s*skip\b/;
/** Printed before each block, so an answer can be traced to the block (by its line) that produced it. */
const MARK = '@@block at line ';

interface Block {
  line: number;
  text: string;
}

function shellBlocks(page: string): Block[] {
  const lines = readFileSync(path.join(ROOT, page), 'utf8').split('\n');
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (lines[i].trim() !== '```sh') continue;
    const end = lines.indexOf('```', i + 1);
    let previous = i - 1;
    while (previous >= 0 && lines[previous].trim() === '') previous--;
    if (!SKIP.test(lines[previous] ?? '')) blocks.push({ line: i + 1, text: lines.slice(i + 1, end).join('\n') });
    i = end;
  }
  return blocks;
}

function runBash(script: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile('bash', ['-euo', 'pipefail', '-c', script], { cwd: ROOT, timeout: 60_000 }, (error, stdout, stderr) =>
      resolve({ code: error ? Number(error.code ?? 1) : 0, output: stdout + stderr }),
    );
  });
}

describe.each(PAGES)('the sh blocks of %s', (page) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server.close();
  });

  it('run as written and get no error answers', async () => {
    const address = server.baseUrl.replace(/^http:\/\//, '');
    const blocks = shellBlocks(page);
    expect(blocks.length).toBeGreaterThan(0);
    const script = blocks
      .map((block) => `echo '${MARK}${block.line}'\n${block.text.replace(/(127\.0\.0\.1|localhost):8778/g, address)}`)
      .join('\n');
    const { code, output } = await runBash(script);
    const answers = output.split(MARK).slice(1);
    const last = answers[answers.length - 1] ?? '';
    expect({ page, code, lastBlock: last }).toEqual({ page, code: 0, lastBlock: last });
    const withErrors = answers.filter((answer) => /"errors"\s*:\s*\[/.test(answer));
    expect(withErrors.map((answer) => `${page}:${answer}`)).toEqual([]);
  });
});
