import { afterEach, describe, expect, it, vi } from "vitest";
import { saveFile } from "@/lib/save-file";

describe("saveFile", () => {
  afterEach(() => {
    vi.unstubAllGlobals();
    vi.restoreAllMocks();
  });

  it("clicks a temporary <a download> on an object URL, then removes the link and revokes the URL", async () => {
    const createObjectURL = vi.fn(() => "blob:http://127.0.0.1/file-1");
    const revokeObjectURL = vi.fn();
    vi.stubGlobal("URL", Object.assign(URL, { createObjectURL, revokeObjectURL }));
    const clicked: HTMLAnchorElement[] = [];
    vi.spyOn(HTMLAnchorElement.prototype, "click").mockImplementation(function (this: HTMLAnchorElement) {
      clicked.push(this);
    });

    const blob = new Blob(["a,b\r\n"], { type: "text/csv" });
    saveFile(blob, "questions.csv");

    expect(createObjectURL).toHaveBeenCalledWith(blob);
    expect(clicked).toHaveLength(1);
    expect(clicked[0]!.getAttribute("href")).toBe("blob:http://127.0.0.1/file-1");
    expect(clicked[0]!.download).toBe("questions.csv");
    expect(document.querySelector("a[download]")).toBeNull();
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(revokeObjectURL).toHaveBeenCalledWith("blob:http://127.0.0.1/file-1");
  });
});
