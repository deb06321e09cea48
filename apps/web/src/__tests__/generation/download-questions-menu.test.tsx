import { render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import { DownloadQuestionsMenu } from "@/components/generation/download-questions-menu";
import { BATCH_ID, createFakeFetch, fail, fakeApiClient } from "@/test/fake-api";

const CSV = 'position,stem,option_a,option_b,option_c,option_d,option_e,answer,explanation\r\n1,"Stem, with a comma",A1,B1,C1,D1,E1,A,Because\r\n';
const QUESTIONS = `/generation/batch/${BATCH_ID}/questions`;

function deferred<T>() {
  let resolve: (value: T) => void = () => {};
  const promise = new Promise<T>((res) => {
    resolve = res;
  });
  return { promise, resolve };
}

function setup(handler: Parameters<typeof createFakeFetch>[0][string], topic?: string) {
  const fake = createFakeFetch({ [`GET ${QUESTIONS}`]: handler });
  const onSave = vi.fn<(blob: Blob, filename: string) => void>();
  const user = userEvent.setup();
  render(<DownloadQuestionsMenu api={fakeApiClient(fake.fetch)} batchId={BATCH_ID} topic={topic} onSave={onSave} />);
  return { ...fake, onSave, user };
}

const trigger = () => screen.getByRole("button", { name: /^Download/ });

describe("DownloadQuestionsMenu", () => {
  it("offers CSV and JSON in a menu, fetches the file with the Bearer token and saves it under the API's name", async () => {
    const { user, onSave, requests } = setup(() => new Response(CSV, { status: 200, headers: { "content-type": "text/csv; charset=utf-8" } }));
    await user.click(trigger());
    const menu = await screen.findByRole("menu", { name: "Download" });
    expect(within(menu).getAllByRole("menuitem").map((item) => item.textContent)).toEqual(["CSV (spreadsheet)", "JSON"]);
    await user.click(within(menu).getByRole("menuitem", { name: "CSV (spreadsheet)" }));

    await waitFor(() => expect(onSave).toHaveBeenCalledTimes(1));
    const [blob, filename] = onSave.mock.calls[0]!;
    expect(filename).toBe(`batch-${BATCH_ID}-questions.csv`);
    expect(await blob.text()).toBe(CSV);
    expect(requests).toHaveLength(1);
    expect(requests[0]!.url.searchParams.get("format")).toBe("csv");
    expect(requests[0]!.headers.get("Authorization")).toBe("Bearer access-token-1");
    expect(screen.getByRole("status")).toHaveTextContent(`Downloaded batch-${BATCH_ID}-questions.csv`);
    expect(screen.queryByRole("menu")).not.toBeInTheDocument();
    expect(trigger()).toHaveFocus();
  });

  it("works from the keyboard, and uses Content-Disposition's name when the browser may read it", async () => {
    const { user, onSave, requests } = setup(
      () =>
        new Response("[]", {
          status: 200,
          headers: { "content-type": "application/json", "content-disposition": 'attachment; filename="renal-questions.json"' },
        }),
      "Renal physiology",
    );
    expect(trigger()).toHaveAccessibleName("Download the questions of Renal physiology");
    trigger().focus();
    await user.keyboard("{Enter}");
    const menu = await screen.findByRole("menu", { name: "Download the questions of Renal physiology" });
    await waitFor(() => expect(within(menu).getByRole("menuitem", { name: "CSV (spreadsheet)" })).toHaveFocus());
    await user.keyboard("{ArrowDown}{Enter}");
    await waitFor(() => expect(onSave).toHaveBeenCalledTimes(1));
    expect(onSave.mock.calls[0]![1]).toBe("renal-questions.json");
    expect(requests[0]!.url.searchParams.get("format")).toBe("json");
  });

  it("shows a spinner while the file downloads and starts no second download meanwhile", async () => {
    const answer = deferred<Response>();
    const { user, onSave, requests } = setup(() => answer.promise);
    await user.click(trigger());
    await user.click(await screen.findByRole("menuitem", { name: "JSON" }));
    await waitFor(() => expect(trigger()).toHaveAttribute("aria-busy", "true"));
    expect(trigger()).toHaveAttribute("aria-disabled", "true");
    expect(trigger().querySelector('[data-slot="spinner"]')).not.toBeNull();
    expect(screen.getByRole("status")).toHaveTextContent("Downloading the questions as JSON…");
    await user.click(trigger());
    expect(screen.queryByRole("menu")).not.toBeInTheDocument();
    answer.resolve(new Response("[]", { status: 200 }));
    await waitFor(() => expect(trigger()).not.toHaveAttribute("aria-busy"));
    expect(onSave).toHaveBeenCalledTimes(1);
    expect(requests).toHaveLength(1);
  });

  it("says in words why a download failed: the API's message, or an unreachable server", async () => {
    let calls = 0;
    const { user, onSave } = setup(() => {
      calls += 1;
      if (calls === 1) return fail(404, "NOT_FOUND", "Batch not found");
      throw new TypeError("Failed to fetch");
    });
    await user.click(trigger());
    await user.click(await screen.findByRole("menuitem", { name: "CSV (spreadsheet)" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("Could not download the questions as CSV: Batch not found");

    await user.click(trigger());
    await user.click(await screen.findByRole("menuitem", { name: "JSON" }));
    await waitFor(() =>
      expect(screen.getByRole("alert")).toHaveTextContent(
        "Could not download the questions as JSON: the server could not be reached, or the download was cut off. Try again.",
      ),
    );
    expect(onSave).not.toHaveBeenCalled();
  });
});
