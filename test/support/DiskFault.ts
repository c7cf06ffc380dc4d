import fs from "node:fs";
import fsp, { type FileHandle } from "node:fs/promises";
import { resolve, sep } from "node:path";

type Mode = "ok" | "full" | "read-only";

/** The methods every FileHandle shares, to wrap: FileHandle's class is not exported, so it is reached through one. */
export async function fileHandlePrototype(): Promise<Record<string, unknown>> {
  const probe = await fsp.open(__filename, "r");
  const proto = Object.getPrototypeOf(probe) as Record<string, unknown>;
  await probe.close();
  return proto;
}

/**
 * A disk fault under one folder, made by wrapping the file system calls the package makes (`node:fs/promises`, and
 * `fs.writeSync` on the descriptor of a handle opened under the folder; read at call time by the built code): `full` fails every write and sync with ENOSPC, as a full disk does; `read-only`
 * fails every open for writing, mkdir, rename and unlink with EROFS, as a folder mounted read-only does. Running as
 * root, permissions cannot make a folder read-only, hence the wrapping. Reads always work.
 */
export class DiskFault {
  mode: Mode = "ok";
  /**
   * While set, a file under the folder cannot grow past this many bytes (a write that would end beyond fails with
   * ENOSPC; through `fs.writeSync`, it writes what fits and the next write fails): a disk with that much room left,
   * where small writes still fit and a large one does not.
   */
  room?: number;
  /** The handles opened under the folder; a closed one's `fd` is -1. */
  private readonly handles = new Set<FileHandle>();
  private readonly restore: Array<() => void> = [];

  constructor(private readonly folder: string) {}

  install(): this {
    const inside = (path: unknown) => typeof path === "string" && resolve(path).startsWith(resolve(this.folder) + sep);
    const fault = (code: "ENOSPC" | "EROFS", call: string) =>
      Object.assign(
        new Error(`${code}: ${code === "ENOSPC" ? "no space left on device" : "read-only file system"}, ${call}`),
        {
          code,
        },
      );
    const writes = (flags: unknown) => typeof flags === "string" && /[wa+]/.test(flags);

    this.wrap(fsp, "open", (original) => async (path: unknown, flags?: unknown, ...rest: unknown[]) => {
      if (this.mode === "read-only" && inside(path) && writes(flags)) throw fault("EROFS", "open");
      const handle = (await original(path, flags, ...rest)) as FileHandle;
      if (inside(path)) this.handles.add(handle);
      return handle;
    });
    for (const name of ["mkdir", "rename", "unlink", "writeFile", "appendFile", "rm"] as const) {
      this.wrap(fsp, name, (original) => async (path: unknown, ...rest: unknown[]) => {
        if (this.mode === "read-only" && inside(path)) throw fault("EROFS", name);
        if (this.mode === "full" && inside(path) && (name === "writeFile" || name === "appendFile")) {
          throw fault("ENOSPC", name);
        }
        return original(path, ...rest);
      });
    }
    return this;
  }

  /** Wraps the write and sync methods of FileHandle, for the handles opened under the folder. */
  async installHandles(): Promise<this> {
    const proto = await fileHandlePrototype();
    const failing = (handle: FileHandle) => this.mode === "full" && this.handles.has(handle);
    const tooLarge = async (handle: FileHandle, args: unknown[]) => {
      const [data, offset, length, position] = args;
      if (this.room === undefined || !this.handles.has(handle) || !Buffer.isBuffer(data)) return false;
      const bytes = typeof length === "number" ? length : data.length - (typeof offset === "number" ? offset : 0);
      const at = typeof position === "number" ? position : (await handle.stat()).size;
      return at + bytes > this.room;
    };
    for (const name of ["write", "writev", "writeFile", "appendFile", "datasync", "sync"]) {
      this.wrap(
        proto,
        name,
        (original) =>
          async function (this: FileHandle, ...args: unknown[]) {
            if (failing(this) || (name === "write" && (await tooLarge(this, args)))) {
              throw Object.assign(new Error(`ENOSPC: no space left on device, ${name}`), { code: "ENOSPC" });
            }
            return original.apply(this, args);
          },
      );
    }
    // The journal writes on the event loop, with fs.writeSync on a handle's descriptor (Journal's writeFully).
    const handleOf = (fd: unknown) => [...this.handles].find((handle) => handle.fd === fd);
    const noSpace = () => Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" });
    this.wrap(fs, "writeSync", (original) => (...args: unknown[]) => {
      const [fd, data, offset, length, position] = args;
      if (handleOf(fd) && this.mode === "full") throw noSpace();
      if (handleOf(fd) && this.room !== undefined && Buffer.isBuffer(data)) {
        const bytes = typeof length === "number" ? length : data.length - (typeof offset === "number" ? offset : 0);
        const at = typeof position === "number" ? position : fs.fstatSync(fd as number).size;
        // As a disk does: what fits is written (a short write), and only a write with no room at all fails.
        if (at + bytes > this.room) {
          if (at >= this.room) throw noSpace();
          return original(fd, data, typeof offset === "number" ? offset : 0, this.room - at, position);
        }
      }
      return original(...args);
    });
    return this;
  }

  uninstall(): void {
    for (const undo of this.restore.splice(0).reverse()) undo();
  }

  private wrap(
    target: object,
    name: string,
    make: (original: (...args: unknown[]) => unknown) => (...args: unknown[]) => unknown,
  ): void {
    const holder = target as Record<string, unknown>;
    const original = holder[name] as (...args: unknown[]) => unknown;
    holder[name] = make(original);
    this.restore.push(() => (holder[name] = original));
  }
}
