<?php

declare(strict_types=1);

namespace XCFB\Webhooks\Contract;

/**
 * Posts one signed event body to the service and says what the answer means for the queue:
 * - `accepted` (202) and `duplicate` (200: the service already has this id) are done;
 * - `retry`: 5xx (503 is the service's "broker unavailable"), 429, 408 or no answer at all (network);
 * - `dead`: any other answer (400 malformed, 401 signature, 413 too large): sending it again cannot help, so
 *   it is kept aside, logged, for a person to fix and requeue.
 * The body is signed at each attempt (the timestamp must be fresh: the service refuses one 300 s off).
 * Plain PHP: the default transport is PHP's own http stream (no curl extension needed).
 */
final class Sender
{
    public const ACCEPTED = 'accepted';
    public const DUPLICATE = 'duplicate';
    public const RETRY = 'retry';
    public const DEAD = 'dead';

    private string $url;
    private Signer $signer;
    /** @var callable(string, array, string, int): array{0: ?int, 1: string, 2: ?string} */
    private $transport;
    private int $timeout;

    public function __construct(string $url, Signer $signer, ?callable $transport = null, int $timeout = 10)
    {
        if (!preg_match('#^https?://[^/\s]+#', $url)) {
            throw new \InvalidArgumentException("url: an http(s) URL is required (from `xcfb connect webhooks`), got '$url'");
        }
        $this->url = $url;
        $this->signer = $signer;
        $this->transport = $transport ?? [self::class, 'streamPost'];
        $this->timeout = $timeout;
    }

    /**
     * @return array{outcome: string, status: ?int, error: ?string, answer: string}
     */
    public function send(string $body, ?int $now = null): array
    {
        $headers = [
            'Content-Type: application/json',
            'X-XCart-Signature: ' . $this->signer->header($body, $now ?? time()),
            'User-Agent: XCFB-Webhooks/1.0',
        ];
        [$status, $answer, $error] = ($this->transport)($this->url, $headers, $body, $this->timeout);
        return ['outcome' => self::outcome($status), 'status' => $status, 'error' => $error, 'answer' => $answer];
    }

    public static function outcome(?int $status): string
    {
        if ($status === 202) {
            return self::ACCEPTED;
        }
        if ($status === 200) {
            return self::DUPLICATE;
        }
        if ($status === null || $status >= 500 || $status === 429 || $status === 408) {
            return self::RETRY;
        }
        return self::DEAD;
    }

    /** @return array{0: ?int, 1: string, 2: ?string} the status (null: no answer), the answer's body, the error */
    public static function streamPost(string $url, array $headers, string $body, int $timeout): array
    {
        $context = stream_context_create(['http' => [
            'method' => 'POST',
            'header' => implode("\r\n", $headers),
            'content' => $body,
            'timeout' => $timeout,
            'ignore_errors' => true, // read the answer of a 4xx/5xx too
            'follow_location' => 0,  // a redirect would turn the POST into a GET: treat it as an answer
            'protocol_version' => 1.1,
        ]]);
        $error = null;
        set_error_handler(static function (int $code, string $message) use (&$error): bool {
            $error = $message;
            return true;
        });
        try {
            $answer = file_get_contents($url, false, $context);
            $responseHeaders = function_exists('http_get_last_response_headers')
                ? http_get_last_response_headers() : ($http_response_header ?? null);
        } finally {
            restore_error_handler();
        }
        if ($answer === false || !$responseHeaders) {
            return [null, '', $error ?? 'no answer'];
        }
        $status = null;
        foreach ($responseHeaders as $line) { // the last status line counts (after any 100 Continue)
            if (preg_match('#^HTTP/\S+\s+(\d{3})#', $line, $match)) {
                $status = (int) $match[1];
            }
        }
        return [$status, $answer, $status === null ? 'no HTTP status line' : null];
    }
}
