/**
 * PostgreSQL failures as one-line {@link SystemError}s that name the server, the operation and
 * what to do. The engine treats every one of them as a system error (failover), so they never
 * reach the user as a bare driver error or a stack trace.
 */
import { SystemError } from "../../errors.js";

/** What an error message may name about the backend. */
export interface ErrorSubject {
  /** `host:port`. */
  readonly address: string;
  readonly database: string;
  readonly schema: string;
}

const NETWORK_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "ENOTFOUND", "EAI_AGAIN", "ETIMEDOUT", "EHOSTUNREACH", "ENETUNREACH", "EPIPE"]);

/** Turn whatever the driver threw during `operation` into a one-line SystemError. */
export function postgresError(error: unknown, operation: string, subject: ErrorSubject): SystemError {
  if (error instanceof SystemError) return error;
  const code = typeof error === "object" && error !== null && "code" in error ? String((error as { code: unknown }).code) : "";
  const text = error instanceof Error ? error.message.split("\n")[0] : String(error);
  const at = `PostgreSQL at ${subject.address}`;
  const options = { cause: error, code: "postgres" };
  if (NETWORK_CODES.has(code)) {
    return new SystemError(`cannot reach ${at} (${code}) during ${operation}; check the postgres:// URI and that the server runs`, options);
  }
  if (/timeout exceeded when trying to connect|connection timeout|Connection terminated/i.test(text ?? "")) {
    return new SystemError(
      `cannot reach ${at} during ${operation} (${text}); check the postgres:// URI, that the server runs, and raise ?connect_timeout= if it is slow`,
      options,
    );
  }
  if (/Query read timeout/i.test(text ?? "") || code === "57014") {
    return new SystemError(`${at} did not finish ${operation} in time (${text}); check the server's load, or raise ?statement_timeout=`, options);
  }
  if (code.startsWith("08") || code === "57P01" || code === "57P02" || code === "57P03") {
    return new SystemError(`lost the connection to ${at} during ${operation} (${text}, ${code}); check that the server runs`, options);
  }
  if (code.startsWith("28")) {
    return new SystemError(`${at} refused the login for database "${subject.database}" (${text}); fix the user and password in the postgres:// URI or pg_hba.conf`, options);
  }
  if (code === "3D000") {
    return new SystemError(`database "${subject.database}" does not exist on ${at}; create it (createdb ${subject.database}) or fix the postgres:// URI`, options);
  }
  if (code === "53300") {
    return new SystemError(`${at} has no free connections (${text}); lower ?pool= or raise max_connections on the server`, options);
  }
  if (code === "42P01" || code === "3F000") {
    return new SystemError(
      `${at}: a table of schema "${subject.schema}" is missing during ${operation} (${text}); run "switchyard resources create" or check that nobody dropped the schema`,
      options,
    );
  }
  if (code === "42501") {
    return new SystemError(`${at}: permission denied in schema "${subject.schema}" during ${operation} (${text}); grant the URI's user rights on the database and schema`, options);
  }
  const detail = code === "" ? text : `${text}, ${code}`;
  return new SystemError(`PostgreSQL ${operation} failed in schema "${subject.schema}" at ${subject.address} (${detail})`, options);
}
