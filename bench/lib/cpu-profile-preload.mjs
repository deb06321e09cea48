// Preloaded into the stack's Node processes by bench/profile (NODE_OPTIONS=--import …, opt-in
// through bench/lib/stack.ts). Node 20 refuses --cpu-prof in NODE_OPTIONS, so this starts the
// same V8 sampling profiler through node:inspector instead: the first SIGUSR2 starts it, the
// second stops it and writes <BENCH_CPU_PROFILE_DIR>/<pid>.cpuprofile (the format --cpu-prof
// writes). The profile thus covers exactly the benchmark's window.
import { writeFileSync } from "node:fs";
import { Session } from "node:inspector";
import path from "node:path";

const dir = process.env.BENCH_CPU_PROFILE_DIR;
if (dir) {
  const session = new Session();
  session.connect();
  let running = false;
  process.on("SIGUSR2", () => {
    if (!running) {
      running = true;
      session.post("Profiler.enable", () =>
        session.post("Profiler.setSamplingInterval", { interval: 1000 }, () => session.post("Profiler.start")),
      );
      return;
    }
    running = false;
    session.post("Profiler.stop", (error, result) => {
      if (!error && result) writeFileSync(path.join(dir, `${process.pid}.cpuprofile`), JSON.stringify(result.profile));
    });
  });
}
