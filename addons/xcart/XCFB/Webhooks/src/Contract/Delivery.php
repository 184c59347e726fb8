<?php

declare(strict_types=1);

namespace XCFB\Webhooks\Contract;

/**
 * One run of the sender (the cron task, or `php addons/xcart/bin/send.php`): posts the due events of the
 * outbox, oldest first, and marks each sent, to retry with exponential backoff (2^attempts s, capped, with
 * jitter), or dead. After `maxAttempts` retryable failures (about two days with the defaults) an event is dead
 * too, logged: a dead event stays in the outbox for a person to requeue; none is dropped.
 * Plain PHP: no X-Cart dependency.
 */
final class Delivery
{
    private Outbox $outbox;
    private Sender $sender;
    /** @var callable(string): void */
    private $log;
    private int $baseSeconds;
    private int $capSeconds;
    private int $maxAttempts;

    public function __construct(Outbox $outbox, Sender $sender, callable $log, int $baseSeconds = 5,
                                int $capSeconds = 3600, int $maxAttempts = 60)
    {
        $this->outbox = $outbox;
        $this->sender = $sender;
        $this->log = $log;
        $this->baseSeconds = $baseSeconds;
        $this->capSeconds = $capSeconds;
        $this->maxAttempts = $maxAttempts;
    }

    /** @return array<string, int> how many events ended each way in this run */
    public function run(int $limit = 100, ?int $now = null): array
    {
        $counts = ['sent' => 0, 'retry' => 0, 'dead' => 0];
        $now = $now ?? time();
        foreach ($this->outbox->due($now, $limit) as $event) {
            $result = $this->sender->send($event['body'], $now);
            $attempts = $event['attempts'] + 1;
            $why = $result['status'] === null ? (string) $result['error'] : "HTTP {$result['status']}";
            if ($result['outcome'] === Sender::ACCEPTED || $result['outcome'] === Sender::DUPLICATE) {
                $this->outbox->markSent($event['row'], $result['status'], $now);
                $counts['sent']++;
            } elseif ($result['outcome'] === Sender::RETRY && $attempts < $this->maxAttempts) {
                $this->outbox->markRetry($event['row'], $attempts, $now + $this->delay($attempts), $why);
                $counts['retry']++;
            } else {
                $this->outbox->markDead($event['row'], $result['status'], $why);
                ($this->log)("XCFB webhooks: event {$event['event_id']} is dead after $attempts attempt(s): $why");
                $counts['dead']++;
            }
        }
        return $counts;
    }

    public function delay(int $attempts): int
    {
        $delay = min($this->capSeconds, $this->baseSeconds * (2 ** min($attempts - 1, 20)));
        return $delay + random_int(0, intdiv($delay, 4)); // jitter: many stores' retries do not arrive at once
    }
}
