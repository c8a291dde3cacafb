/**
 * A POSIX ustar archive writer for what a git tree holds: directories, regular files and symbolic
 * links, written the way `git archive` writes them (owner root:root with id 0, one modification time
 * for every entry, a `pax_global_header` carrying the commit id, pax extended headers for a path or
 * link target too long for ustar's fields). Entries go to `sink` as they are added, so the archive is
 * never held whole here.
 */

const BLOCK = 512;
const NAME_BYTES = 100;
const PREFIX_BYTES = 155;
const LINK_BYTES = 100;
const OCTAL_MODE_DIGITS = 7;
const OCTAL_ID_DIGITS = 7;
const OCTAL_SIZE_DIGITS = 11;
const OCTAL_TIME_DIGITS = 11;
const OCTAL_CHECKSUM_DIGITS = 7;
const OCTAL_DEVICE_DIGITS = 7;
const CHECKSUM_OFFSET = 148;
const CHECKSUM_BYTES = 8;
const SPACE = 0x20;
const OWNER = 'root';
/** The end of an archive: two zero blocks. */
const END_BLOCKS = 2;
/** tar's blocking factor 20: the archive is padded to a multiple of this, as git archive (and tar) write it. */
const RECORD = 20 * BLOCK;

// Header field offsets (POSIX.1-1988 ustar).
const OFFSET = {
  name: 0,
  mode: 100,
  uid: 108,
  gid: 116,
  size: 124,
  mtime: 136,
  typeflag: 156,
  linkname: 157,
  magic: 257,
  version: 263,
  uname: 265,
  gname: 297,
  devmajor: 329,
  devminor: 337,
  prefix: 345,
} as const;
const OWNER_BYTES = 32;
const MAGIC_BYTES = 6;
const VERSION_BYTES = 2;
/** One past the largest time ustar's 11 octal digits hold (year 2242). */
const MTIME_CEILING = 8 ** OCTAL_TIME_DIGITS;

const TYPE = { file: '0', symlink: '2', directory: '5', paxExtended: 'x', paxGlobal: 'g' } as const;

/** `git archive`'s modes (its default tar.umask 002 applied to 0666 and 0777). */
export const FILE_MODE = 0o664;
export const EXECUTABLE_MODE = 0o775;
export const DIRECTORY_MODE = 0o775;
export const SYMLINK_MODE = 0o777;

export type TarEntry =
  | { kind: 'directory'; path: string }
  | { kind: 'file'; path: string; data: Uint8Array; executable: boolean }
  | { kind: 'symlink'; path: string; target: string };

/**
 * A commit's time as ustar can write it: the commit object is the server's, so its timestamp may be
 * anything (1e300, negative, not a number); outside [0, 8^11) it would overflow the field into the next.
 */
export function tarTime(seconds: number): number {
  if (!Number.isFinite(seconds) || seconds < 0) return 0;
  return Math.min(Math.floor(seconds), MTIME_CEILING - 1);
}

function octal(value: number, digits: number): string {
  return value.toString(8).padStart(digits, '0');
}

/** A pax record, `<length> <key>=<value>\n`, where the length counts its own digits. */
function paxRecord(key: string, value: string): Buffer {
  const body = ` ${key}=${value}\n`;
  const bodyBytes = Buffer.byteLength(body, 'utf8');
  let length = bodyBytes + 1;
  while (String(length).length + bodyBytes !== length) length = String(length).length + bodyBytes;
  return Buffer.from(`${length}${body}`, 'utf8');
}

/** The path split into ustar's prefix and name fields, or undefined when it does not fit them. */
function splitPath(path: Buffer): { prefix: Buffer; name: Buffer } | undefined {
  if (path.length <= NAME_BYTES) return { prefix: Buffer.alloc(0), name: path };
  for (let slash = path.indexOf(0x2f); slash >= 0; slash = path.indexOf(0x2f, slash + 1)) {
    if (slash > PREFIX_BYTES) break;
    const name = path.subarray(slash + 1);
    if (name.length > 0 && name.length <= NAME_BYTES) return { prefix: path.subarray(0, slash), name };
  }
  return undefined;
}

export class TarWriter {
  /** Bytes written so far. */
  written = 0;
  private readonly mtime: number;

  /**
   * @param sink receives the archive in order, block-aligned pieces.
   * @param mtime every entry's modification time, seconds since the epoch (git archive: the commit's time).
   */
  constructor(
    private readonly sink: (chunk: Buffer) => void,
    mtime: number,
  ) {
    this.mtime = tarTime(mtime);
  }

  /** The pax global header `git archive` starts with: `comment=<commit id>`. */
  comment(text: string): void {
    this.withData('pax_global_header', TYPE.paxGlobal, 0o666, paxRecord('comment', text));
  }

  add(entry: TarEntry): void {
    if (entry.kind === 'directory') this.entry(entry.path.endsWith('/') ? entry.path : `${entry.path}/`, TYPE.directory, DIRECTORY_MODE, 0);
    else if (entry.kind === 'symlink') this.entry(entry.path, TYPE.symlink, SYMLINK_MODE, 0, entry.target);
    else {
      this.entry(entry.path, TYPE.file, entry.executable ? EXECUTABLE_MODE : FILE_MODE, entry.data.length);
      this.data(entry.data);
    }
  }

  /** The two zero blocks that end the archive, then zeros to the end of the record. */
  end(): void {
    const length = this.written + BLOCK * END_BLOCKS;
    this.emit(Buffer.alloc(BLOCK * END_BLOCKS + ((RECORD - (length % RECORD)) % RECORD)));
  }

  private entry(path: string, type: string, mode: number, size: number, linkTarget = ''): void {
    const pathBytes = Buffer.from(path, 'utf8');
    const linkBytes = Buffer.from(linkTarget, 'utf8');
    const split = splitPath(pathBytes);
    const records: Buffer[] = [];
    if (split === undefined) records.push(paxRecord('path', path));
    if (linkBytes.length > LINK_BYTES) records.push(paxRecord('linkpath', linkTarget));
    if (records.length > 0) this.withData('pax_extended_header', TYPE.paxExtended, 0o666, Buffer.concat(records));
    const fitted = split ?? { prefix: Buffer.alloc(0), name: pathBytes.subarray(0, NAME_BYTES) };
    this.emit(this.header(fitted, type, mode, size, linkBytes.subarray(0, LINK_BYTES)));
  }

  private withData(name: string, type: string, mode: number, data: Buffer): void {
    this.emit(this.header({ prefix: Buffer.alloc(0), name: Buffer.from(name) }, type, mode, data.length, Buffer.alloc(0)));
    this.data(data);
  }

  private data(data: Uint8Array): void {
    if (data.length === 0) return;
    this.emit(Buffer.from(data.buffer, data.byteOffset, data.length));
    const padding = (BLOCK - (data.length % BLOCK)) % BLOCK;
    if (padding > 0) this.emit(Buffer.alloc(padding));
  }

  private header(path: { prefix: Buffer; name: Buffer }, type: string, mode: number, size: number, link: Buffer): Buffer {
    const block = Buffer.alloc(BLOCK);
    path.name.copy(block, OFFSET.name);
    block.write(`${octal(mode, OCTAL_MODE_DIGITS)}\0`, OFFSET.mode, OCTAL_MODE_DIGITS + 1, 'ascii');
    block.write(`${octal(0, OCTAL_ID_DIGITS)}\0`, OFFSET.uid, OCTAL_ID_DIGITS + 1, 'ascii');
    block.write(`${octal(0, OCTAL_ID_DIGITS)}\0`, OFFSET.gid, OCTAL_ID_DIGITS + 1, 'ascii');
    block.write(`${octal(size, OCTAL_SIZE_DIGITS)}\0`, OFFSET.size, OCTAL_SIZE_DIGITS + 1, 'ascii');
    block.write(`${octal(this.mtime, OCTAL_TIME_DIGITS)}\0`, OFFSET.mtime, OCTAL_TIME_DIGITS + 1, 'ascii');
    block.write(type, OFFSET.typeflag, 1, 'ascii');
    link.copy(block, OFFSET.linkname);
    block.write('ustar\0', OFFSET.magic, MAGIC_BYTES, 'ascii');
    block.write('00', OFFSET.version, VERSION_BYTES, 'ascii');
    block.write(OWNER, OFFSET.uname, OWNER_BYTES, 'ascii');
    block.write(OWNER, OFFSET.gname, OWNER_BYTES, 'ascii');
    block.write(`${octal(0, OCTAL_DEVICE_DIGITS)}\0`, OFFSET.devmajor, OCTAL_DEVICE_DIGITS + 1, 'ascii');
    block.write(`${octal(0, OCTAL_DEVICE_DIGITS)}\0`, OFFSET.devminor, OCTAL_DEVICE_DIGITS + 1, 'ascii');
    path.prefix.copy(block, OFFSET.prefix);
    // The checksum is the sum of the header's bytes with its own field read as spaces.
    block.fill(SPACE, CHECKSUM_OFFSET, CHECKSUM_OFFSET + CHECKSUM_BYTES);
    let sum = 0;
    for (const byte of block) sum += byte;
    block.write(`${octal(sum, OCTAL_CHECKSUM_DIGITS)}\0`, CHECKSUM_OFFSET, CHECKSUM_BYTES, 'ascii');
    return block;
  }

  private emit(chunk: Buffer): void {
    this.written += chunk.length;
    this.sink(chunk);
  }
}
