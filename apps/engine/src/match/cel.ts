import { parse, type ASTNode, type ParseResult } from "@marcbachmann/cel-js";

/**
 * The CEL subset the engine accepts: literals, field access on the allowed roots, `==`, `!=`,
 * `<`, `<=`, `>`, `>=`, `&&`, `||`, `!` and unary minus. That is the part where a JS CEL library
 * and Inngest's cel-go agree; anything else (macros, functions, `in`, arithmetic) is refused at
 * sync so that no expression can mean one thing here and another on Inngest.
 */
const ALLOWED_BINARY = new Set(["==", "!=", "<", "<=", ">", ">=", "&&", "||"]);

export type ExpressionRoots = readonly ("event" | "async")[];

export class ExpressionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ExpressionError";
  }
}

const cache = new Map<string, ParseResult>();

function compileExpression(expression: string): ParseResult {
  let compiled = cache.get(expression);
  if (!compiled) {
    try {
      compiled = parse(expression);
    } catch (error) {
      throw new ExpressionError(`invalid CEL expression "${expression}": ${(error as Error).message.split("\n")[0]}`);
    }
    if (cache.size > 5_000) cache.clear();
    cache.set(expression, compiled);
  }
  return compiled;
}

function checkNode(node: ASTNode, roots: ExpressionRoots, expression: string): void {
  const refuse = (what: string): never => {
    throw new ExpressionError(`expression "${expression}" uses ${what}, which is outside the supported CEL subset`);
  };
  switch (node.op) {
    case "value":
      if (node.args instanceof Uint8Array) refuse("a bytes literal");
      return;
    case "id":
      if (!(roots as readonly string[]).includes(node.args)) {
        refuse(`the variable "${node.args}" (allowed: ${roots.join(", ")})`);
      }
      return;
    case ".":
      checkNode(node.args[0], roots, expression);
      return;
    case "[]":
      checkNode(node.args[0], roots, expression);
      if (node.args[1].op !== "value") refuse("a computed index");
      return;
    case "!_":
    case "-_":
      checkNode(node.args, roots, expression);
      return;
    default:
      if (ALLOWED_BINARY.has(node.op)) {
        const [left, right] = node.args as [ASTNode, ASTNode];
        checkNode(left, roots, expression);
        checkNode(right, roots, expression);
        return;
      }
      refuse(`"${node.op}"`);
  }
}

/** Throws an ExpressionError naming the problem if `expression` is not in the subset. */
export function validateExpression(expression: string, roots: ExpressionRoots): void {
  checkNode(compileExpression(expression).ast, roots, expression);
}

/** Evaluates a validated expression; a missing key or any evaluation error is "no value". */
export function evaluateExpression(expression: string, context: Record<string, unknown>): unknown {
  try {
    return compileExpression(expression)(context) as unknown;
  } catch {
    return undefined;
  }
}

/** True only when the expression evaluates to boolean true; errors never match (as on Inngest). */
export function expressionMatches(expression: string | null | undefined, context: Record<string, unknown>): boolean {
  if (!expression) return true;
  return evaluateExpression(expression, context) === true;
}
