import Dispatch
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Ends a child that is still running at its deadline: kills its process group and closes
/// its stdout, so a read in progress ends even if something outside the group holds the
/// pipe. On a dispatch timer with a queue of its own, so it strikes on time however busy
/// Swift's threads are (on Linux the global queues are those threads).
public final class ProcessWatchdog {
    private let timer: any DispatchSourceTimer
    private let strike = Strike()

    /// Set by the timer's handler, read by the owner.
    private final class Strike: Sendable {
        let happened = Atomic<Bool>(false)
    }

    public init(_ child: ChildProcess, after limit: Duration) {
        timer = DispatchSource.makeTimerSource(queue: DispatchQueue(label: "ferry.process-watchdog"))
        timer.schedule(deadline: .now() + .milliseconds(Int(limit.milliseconds)))
        timer.setEventHandler { [strike] in
            guard !child.hasExited else { return }
            strike.happened.store(true, ordering: .releasing)
            child.kill(SIGKILL)
            child.output.close()
        }
        timer.resume()
    }

    /// It struck: the child ran out of time.
    public var struck: Bool { strike.happened.load(ordering: .acquiring) }

    /// Stands it down; the child is left as it is.
    public func disarm() { timer.cancel() }
}
