import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import { NewBatchForm } from "@/components/generation/new-batch-form";
import { createFakeFetch, fail, fakeApiClient, makeBatch, ok } from "@/test/fake-api";

function setup(handler = () => ok(makeBatch(), 201)) {
  const fake = createFakeFetch({ "POST /generation/batch": handler });
  const onCreated = vi.fn();
  const user = userEvent.setup();
  render(<NewBatchForm api={fakeApiClient(fake.fetch)} onCreated={onCreated} />);
  return { ...fake, onCreated, user };
}

describe("NewBatchForm", () => {
  it("shows the shared schema's messages next to the fields, focuses the first, and sends nothing", async () => {
    const { user, requests } = setup();
    await user.clear(screen.getByLabelText("Number of questions"));
    await user.type(screen.getByLabelText("Number of questions"), "0");
    await user.clear(screen.getByLabelText("Concurrency"));
    await user.type(screen.getByLabelText("Concurrency"), "21");
    await user.click(screen.getByRole("button", { name: "Create batch" }));

    const topic = screen.getByLabelText("Topic");
    expect(topic).toHaveFocus();
    expect(topic).toHaveAttribute("aria-invalid", "true");
    expect(topic).toHaveAccessibleDescription(/Topic must not be empty/);
    expect(screen.getByLabelText("Number of questions")).toHaveAccessibleDescription(/Number of questions must be at least 1/);
    expect(screen.getByLabelText("Concurrency")).toHaveAccessibleDescription(/Concurrency must be at most 20/);
    expect(requests).toHaveLength(0);
  });

  it("validates a field when it loses focus, and clears the message once it is fixed", async () => {
    const { user } = setup();
    const count = screen.getByLabelText("Number of questions");
    await user.clear(count);
    await user.type(count, "2.5");
    await user.tab();
    expect(screen.getByText("Number of questions must be a whole number")).toBeInTheDocument();
    await user.clear(count);
    await user.type(count, "30");
    expect(screen.queryByText(/Number of questions must/)).not.toBeInTheDocument();
    expect(count).not.toHaveAttribute("aria-invalid");
  });

  it("sends the parsed config and hands the created batch on", async () => {
    const { user, requests, onCreated } = setup();
    await user.type(screen.getByLabelText("Topic"), "  Renal physiology ");
    await user.selectOptions(screen.getByLabelText("Question type"), "Clinical vignette");
    await user.selectOptions(screen.getByLabelText("Difficulty"), "Hard");
    await user.clear(screen.getByLabelText("Number of questions"));
    await user.type(screen.getByLabelText("Number of questions"), "30");
    await user.click(screen.getByRole("button", { name: "Create batch" }));
    await vi.waitFor(() => expect(onCreated).toHaveBeenCalledTimes(1));
    expect(requests[0]?.body).toEqual({
      topic: "Renal physiology",
      questionType: "clinical_vignette",
      difficulty: "hard",
      count: 30,
      concurrency: 5,
      generator: "simulated",
    });
    expect(onCreated.mock.calls[0]?.[0]).toMatchObject({ id: makeBatch().id });
  });

  it("shows the API's 400 next to the field it names", async () => {
    const { user, onCreated } = setup(() =>
      fail(400, "VALIDATION_ERROR", "topic: topic is not allowed", {
        field: "topic",
        issues: [{ field: "topic", message: "topic is not allowed here" }],
      }),
    );
    await user.type(screen.getByLabelText("Topic"), "Something the server refuses");
    await user.click(screen.getByRole("button", { name: "Create batch" }));
    expect(await screen.findByText("Topic is not allowed here")).toBeInTheDocument();
    expect(screen.getByLabelText("Topic")).toHaveAttribute("aria-invalid", "true");
    expect(screen.getByLabelText("Topic")).toHaveFocus();
    expect(onCreated).not.toHaveBeenCalled();
    expect(screen.getByRole("button", { name: "Create batch" })).toBeEnabled();
  });

  it("says so in words when the API cannot be reached", async () => {
    const { user } = setup(() => {
      throw new TypeError("Failed to fetch");
    });
    await user.type(screen.getByLabelText("Topic"), "Cardiology");
    await user.click(screen.getByRole("button", { name: "Create batch" }));
    expect(await screen.findByRole("alert")).toHaveTextContent(/Cannot reach the API/);
  });
});
