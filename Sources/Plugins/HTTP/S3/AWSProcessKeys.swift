import FerryCore
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Keys printed by a profile's `credential_process`, run by `/bin/sh -c` as the AWS SDKs
/// run it: JSON with `Version` 1, `AccessKeyId`, `SecretAccessKey`, `SessionToken` and
/// `Expiration`. Keys without an `Expiration` never expire, so the command runs once.
///
/// Unlike the SDKs, Ferry gives the command no terminal: its stdin is closed and what it
/// writes to stderr is quoted in the error when it fails, so it cannot prompt. It leads
/// a process group of its own, which is killed, with whatever it started, when it takes
/// longer than `timeLimit`.
struct AWSProcessKeys: AWSKeyFetcher {
    let command: String
    /// How long the command may take in all, from its start to its exit.
    var timeLimit: Duration = .seconds(120)

    var origin: String { "credential_process '\(command)'" }

    func fetch() async throws -> AWSKeyLease {
        let deadline = ContinuousClock.now + timeLimit
        let child = try ChildProcess(arguments: ["/bin/sh", "-c", command], ownProcessGroup: true)
        child.closeInput()
        // The limit holds for the whole run, not per read: a command that prints now and
        // then would outlast any wait for its next byte.
        let watchdog = ProcessWatchdog(child, after: timeLimit)
        defer { watchdog.disarm() }
        do {
            let output = try await read(child)
            // A helper it left running outside its group with stderr open would keep this
            // waiting for ever.
            guard let status = await child.wait(within: deadline - .now), !watchdog.struck else { throw tooSlow }
            guard status == 0 else {
                let said = child.stderr.trimmingCharacters(in: .whitespacesAndNewlines)
                throw CredentialsUnavailable(reason: "\(origin) \(ChildProcess.describe(waitStatus: status))" + (said.isEmpty ? "" : ": \(said)"))
            }
            return try AWSKeyLease(json: String(decoding: output, as: UTF8.self), tokenKey: "SessionToken", version: 1,
                                   otherwise: .distantFuture, from: origin)
        } catch {
            child.kill(SIGKILL)
            child.output.close()
            // Whatever the watchdog made of the run: a signal, a closed pipe, cut JSON.
            if watchdog.struck { throw tooSlow }
            throw error as? CredentialsUnavailable ?? CredentialsUnavailable(reason: "\(origin): \(error)")
        }
    }

    private var tooSlow: CredentialsUnavailable { CredentialsUnavailable(reason: "\(origin) did not finish within \(timeLimit)") }

    /// Its stdout to the end, at most 1 MiB.
    private func read(_ child: ChildProcess) async throws -> [UInt8] {
        var output: [UInt8] = []
        while case let bytes = try await child.output.read(maxLength: 64 << 10), !bytes.isEmpty {
            output += bytes
            guard output.count <= 1 << 20 else { throw CredentialsUnavailable(reason: "\(origin) printed more than 1 MiB") }
        }
        return output
    }
}
