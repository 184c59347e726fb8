<?php

declare(strict_types=1);

namespace XCFB\Webhooks\Logic;

use XCFB\Webhooks\Contract\Delivery;
use XCFB\Webhooks\Contract\Sender;
use XCFB\Webhooks\Contract\Signer;
use XLite\Core\Config;
use XLite\Core\Database;
use XLite\Logger;

/** X-Cart glue (UNTESTED against a real store): one run of Contract\Delivery with the module's settings. */
final class Sending
{
    /** @return array<string, int> */
    public static function run(int $limit = 100): array
    {
        $settings = Config::getInstance()->XCFB->Webhooks;
        $log = static function (string $line): void {
            Logger::getInstance()->logCustom('xcfb-webhooks', $line);
        };
        if (!$settings->endpoint_url || !$settings->signing_secrets) {
            $log('not sending: set the endpoint URL and the signing secret (from `xcfb connect webhooks`)');
            return ['sent' => 0, 'retry' => 0, 'dead' => 0];
        }
        $sender = new Sender((string) $settings->endpoint_url, Signer::fromSetting((string) $settings->signing_secrets));
        $outbox = Database::getRepo('XCFB\Webhooks\Model\QueuedEvent');
        $counts = (new Delivery($outbox, $sender, $log))->run($limit);
        $outbox->purgeSent(time());
        return $counts;
    }
}
