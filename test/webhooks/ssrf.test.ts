/** The SSRF rules, table-driven through checkWebhookUrl with a fake DNS. */
import { checkWebhookUrl, parseWebhookUrl, WebhookUrlError, type LookupFn } from '../../src/webhooks/ssrf';

const DNS: Record<string, string[]> = {
  'hooks.example.com': ['93.184.216.34'],
  'v6.example.com': ['2606:4700::1111'],
  localhost: ['127.0.0.1', '::1'],
  'internal.example': ['192.168.0.10'],
  'metadata.example': ['169.254.169.254'],
  // one public and one private answer: ANY private address refuses the URL
  'rebind.example': ['93.184.216.34', '10.0.0.5'],
  'mapped.example': ['::ffff:10.0.0.1'],
  'empty.example': [],
};
const lookups: string[] = [];
/** Throws for names it does not know, so IP literals reaching DNS would fail these tests. */
const fakeLookup: LookupFn = async (host) => {
  lookups.push(host);
  const answers = DNS[host];
  if (!answers) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
  return answers.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
};
const check = (url: string, allow: string[] = []) => checkWebhookUrl(url, { allow }, fakeLookup);

beforeEach(() => (lookups.length = 0));

// [url, reason code, words the message must contain]
const refused: Array<[string, string, string]> = [
  ['http://127.0.0.1/hook', 'loopback', '127.0.0.1'],
  ['http://localhost:8080/', 'loopback', 'localhost resolves to 127.0.0.1'],
  ['http://10.1.2.3/', 'private', '10.1.2.3'],
  ['http://172.16.5.4/', 'private', '172.16.5.4'],
  ['http://192.168.1.1/', 'private', '192.168.1.1'],
  ['http://169.254.169.254/latest/meta-data/', 'linkLocal', '169.254.169.254'],
  ['http://metadata.example/', 'linkLocal', 'metadata.example resolves to 169.254.169.254'],
  ['http://100.64.0.1/', 'carrierGradeNat', '100.64.0.1'],
  ['http://0.0.0.0:3000/', 'unspecified', '0.0.0.0'],
  ['http://0/', 'unspecified', '0.0.0.0'],
  ['http://224.0.0.1/', 'multicast', '224.0.0.1'],
  ['http://255.255.255.255/', 'broadcast', '255.255.255.255'],
  ['http://240.0.0.1/', 'reserved', '240.0.0.1'],
  ['http://[::1]/', 'loopback', '::1'],
  ['http://[::]/', 'unspecified', '::'],
  ['http://[fd12:3456::1]/', 'uniqueLocal', 'fd12:3456::1'],
  ['http://[fe80::1]/', 'linkLocal', 'fe80::1'],
  ['http://[ff02::1]/', 'multicast', 'ff02::1'],
  ['http://[::ffff:127.0.0.1]/', 'loopback', '127.0.0.1'],
  ['http://[::ffff:169.254.169.254]/', 'linkLocal', '169.254.169.254'],
  ['http://[::127.0.0.1]/', 'ipv4Compatible', '::7f00:1'],
  ['http://[64:ff9b::7f00:1]/', 'rfc6052', '64:ff9b::7f00:1'],
  ['http://[2002:7f00:1::]/', '6to4', '2002:7f00:1::'],
  // odd IPv4 spellings, normalised by WHATWG URL to 127.0.0.1
  ['http://2130706433/', 'loopback', '127.0.0.1'],
  ['http://0x7f.1/', 'loopback', '127.0.0.1'],
  ['http://0x7f000001/', 'loopback', '127.0.0.1'],
  ['http://017700000001/', 'loopback', '127.0.0.1'],
  ['http://127.1/', 'loopback', '127.0.0.1'],
  ['http://%31%32%37.0.0.1/', 'loopback', '127.0.0.1'],
  ['http://LOCALHOST./', 'loopback', 'localhost resolves to 127.0.0.1'],
  ['http://internal.example/', 'private', 'internal.example resolves to 192.168.0.10'],
  ['http://rebind.example/', 'private', '10.0.0.5'],
  ['http://mapped.example/', 'private', '10.0.0.1'],
  ['http://empty.example/', 'unresolved', 'did not resolve'],
  ['ftp://hooks.example.com/', 'scheme', 'ftp:'],
  ['file:///etc/passwd', 'scheme', 'file:'],
  ['gopher://hooks.example.com:70/', 'scheme', 'gopher:'],
  ['http://user:pass@hooks.example.com/', 'userinfo', 'user name or password'],
  ['https://token@hooks.example.com/', 'userinfo', 'user name or password'],
  ['hooks.example.com/path', 'syntax', 'not a valid absolute URL'],
  [`https://hooks.example.com/${'a'.repeat(2048)}`, 'length', '2048'],
];

describe('checkWebhookUrl refuses', () => {
  it.each(refused)('%s (%s)', async (url, reason, words) => {
    const err: unknown = await check(url).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(WebhookUrlError);
    expect((err as WebhookUrlError).reason).toBe(reason);
    expect((err as WebhookUrlError).message).toContain(words);
  });

  it('never asks DNS about an IP literal', async () => {
    await expect(check('http://2130706433/')).rejects.toThrow(WebhookUrlError);
    await expect(check('http://[::ffff:127.0.0.1]/')).rejects.toThrow(WebhookUrlError);
    expect(lookups).toEqual([]);
  });
});

describe('checkWebhookUrl accepts', () => {
  it('a public name, and returns the addresses to connect to', async () => {
    await expect(check('https://hooks.example.com/batches?x=1')).resolves.toEqual([
      { address: '93.184.216.34', family: 4 },
    ]);
    await expect(check('https://v6.example.com/')).resolves.toEqual([{ address: '2606:4700::1111', family: 6 }]);
    await expect(check('http://[2606:4700::1111]:8443/')).resolves.toEqual([{ address: '2606:4700::1111', family: 6 }]);
    await expect(check('http://93.184.216.34/')).resolves.toEqual([{ address: '93.184.216.34', family: 4 }]);
  });

  it('an allow-listed hostname, whatever it resolves to (case and trailing dot ignored)', async () => {
    await expect(check('http://internal.example/', ['Internal.Example.'])).resolves.toEqual([
      { address: '192.168.0.10', family: 4 },
    ]);
    await expect(check('http://localhost/', ['localhost'])).resolves.toHaveLength(2);
    // the allowance is for that name only
    await expect(check('http://metadata.example/', ['internal.example'])).rejects.toThrow('linkLocal');
  });

  it('an allow-listed IP, also reached through its IPv4-mapped form', async () => {
    await expect(check('http://10.1.2.3/', ['10.1.2.3'])).resolves.toEqual([{ address: '10.1.2.3', family: 4 }]);
    await expect(check('http://[::ffff:10.1.2.3]/', ['10.1.2.3'])).resolves.toEqual([
      { address: '10.1.2.3', family: 4 },
    ]);
    await expect(check('http://10.1.2.4/', ['10.1.2.3'])).rejects.toThrow('private');
  });

  it('addresses inside an allow-listed CIDR, and only those', async () => {
    await expect(check('http://10.200.0.1/', ['10.0.0.0/8'])).resolves.toHaveLength(1);
    await expect(check('http://rebind.example/', ['10.0.0.0/8'])).resolves.toHaveLength(2);
    await expect(check('http://192.168.1.1/', ['10.0.0.0/8'])).rejects.toThrow('private');
    await expect(check('http://[fd12:3456::1]/', ['fd00::/8'])).resolves.toEqual([
      { address: 'fd12:3456::1', family: 6 },
    ]);
    await expect(check('http://[fe80::1]/', ['fd00::/8', '10.0.0.0/8'])).rejects.toThrow('linkLocal');
  });
});

describe('DNS errors', () => {
  it('propagate as they are (transient at delivery time), not as refusals', async () => {
    const err: unknown = await check('http://unknown.example/').catch((e: unknown) => e);
    expect(err).not.toBeInstanceOf(WebhookUrlError);
    expect((err as Error).message).toContain('ENOTFOUND');
  });
});

describe('parseWebhookUrl (sync, for request validation)', () => {
  it('checks syntax, scheme, userinfo and length only', () => {
    expect(parseWebhookUrl('https://hooks.example.com/a?b=c').hostname).toBe('hooks.example.com');
    expect(parseWebhookUrl('http://10.0.0.1/').hostname).toBe('10.0.0.1'); // addresses are checked at delivery
    expect(() => parseWebhookUrl('javascript:alert(1)')).toThrow('scheme');
    expect(() => parseWebhookUrl('http://a:b@x.com/')).toThrow(WebhookUrlError);
    expect(() => parseWebhookUrl(`https://x.com/${'a'.repeat(2040)}`)).toThrow('2048');
    expect(() => parseWebhookUrl('http://')).toThrow(WebhookUrlError);
  });
});
