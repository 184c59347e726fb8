<?php

declare(strict_types=1);

namespace XCFB\Webhooks\Core\Task;

use XCFB\Webhooks\Logic\Sending;

/**
 * X-Cart glue (UNTESTED against a real store): X-Cart's scheduled task, run by the store's cron job every
 * minute: sends the due events of the outbox.
 */
class SendWebhooks extends \XLite\Core\Task\Base\Periodic
{
    public function getTitle()
    {
        return 'FreshBooks webhooks: send queued events';
    }

    protected function runStep()
    {
        Sending::run();
    }

    protected function getPeriod()
    {
        return static::INT_1_MIN;
    }
}
