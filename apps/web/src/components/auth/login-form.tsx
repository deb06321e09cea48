"use client";

import { TriangleAlert } from "lucide-react";
import { useId, useState, type FormEvent } from "react";
import { Alert, AlertDescription } from "@/components/ui/alert";
import { Button } from "@/components/ui/button";
import { Input } from "@/components/ui/input";
import { Label } from "@/components/ui/label";
import { Spinner } from "@/components/ui/spinner";
import { useAuth } from "@/lib/auth";

/** Email + password sign-in. Navigation after success belongs to the page, not the form. */
export function LoginForm() {
  const { signIn } = useAuth();
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [pending, setPending] = useState(false);
  const errorId = useId();

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    if (pending) return;
    const trimmedEmail = email.trim();
    if (!trimmedEmail || !password) {
      setError("Enter your email address and your password.");
      return;
    }
    setPending(true);
    setError(null);
    const result = await signIn(trimmedEmail, password);
    setPending(false);
    if (result.error) setError(result.error);
  }

  return (
    <form
      noValidate
      // Never GET: a submit before hydration must not put the password in the URL.
      method="post"
      aria-label="Sign in"
      aria-busy={pending}
      className="grid gap-5"
      onSubmit={(event) => void submit(event)}
    >
      <div className="grid gap-2">
        <Label htmlFor="email">Email</Label>
        <Input
          id="email"
          name="email"
          type="email"
          autoComplete="username"
          inputMode="email"
          autoCapitalize="none"
          spellCheck={false}
          required
          value={email}
          onChange={(event) => setEmail(event.target.value)}
          aria-invalid={error ? true : undefined}
          aria-describedby={error ? errorId : undefined}
        />
      </div>
      <div className="grid gap-2">
        <Label htmlFor="password">Password</Label>
        <Input
          id="password"
          name="password"
          type="password"
          autoComplete="current-password"
          required
          value={password}
          onChange={(event) => setPassword(event.target.value)}
          aria-invalid={error ? true : undefined}
          aria-describedby={error ? errorId : undefined}
        />
      </div>
      <div>
        {/* Always in the DOM so screen readers are already listening when an error appears. */}
        <div aria-live="assertive" aria-atomic="true">
          {error ? (
            <Alert variant="destructive" role="alert" id={errorId} className="mb-4" data-testid="sign-in-error">
              <TriangleAlert aria-hidden="true" />
              <AlertDescription>{error}</AlertDescription>
            </Alert>
          ) : null}
        </div>
        <Button type="submit" size="lg" className="w-full" disabled={pending} aria-busy={pending || undefined}>
          {pending ? <Spinner /> : null}
          Sign in
        </Button>
      </div>
    </form>
  );
}
