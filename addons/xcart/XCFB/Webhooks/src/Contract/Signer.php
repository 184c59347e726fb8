<?php

declare(strict_types=1);

namespace XCFB\Webhooks\Contract;

/**
 * The X-XCart-Signature header of the webhook contract: `t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`,
 * one v1 per configured secret, so that during a rotation (`xcfb connect webhooks --rotate`) the service
 * accepts the event whichever of the secrets it holds. Plain PHP: no X-Cart dependency.
 */
final class Signer
{
    /** @var string[] */
    private array $secrets;

    /** @param string[] $secrets the configured secrets, newest first */
    public function __construct(array $secrets)
    {
        $secrets = array_values(array_filter(array_map('trim', $secrets), static fn (string $s): bool => $s !== ''));
        if (!$secrets) {
            throw new \InvalidArgumentException('secrets: at least one signing secret is required (from `xcfb connect webhooks`)');
        }
        $this->secrets = $secrets;
    }

    /** The secrets as the module's setting holds them: separated by commas, spaces or new lines. */
    public static function fromSetting(string $setting): self
    {
        return new self(preg_split('/[\s,]+/', $setting, -1, PREG_SPLIT_NO_EMPTY) ?: []);
    }

    public function header(string $body, int $timestamp): string
    {
        $parts = ['t=' . $timestamp];
        foreach ($this->secrets as $secret) {
            $parts[] = 'v1=' . hash_hmac('sha256', $timestamp . '.' . $body, $secret);
        }
        return implode(',', $parts);
    }

    /** var_dump() and print_r() show how many secrets, never one. */
    public function __debugInfo(): array
    {
        return ['secrets' => count($this->secrets) . ' (hidden)'];
    }
}
