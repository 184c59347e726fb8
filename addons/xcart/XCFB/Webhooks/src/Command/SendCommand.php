<?php

declare(strict_types=1);

namespace XCFB\Webhooks\Command;

use Symfony\Component\Console\Command\Command;
use Symfony\Component\Console\Input\InputInterface;
use Symfony\Component\Console\Input\InputOption;
use Symfony\Component\Console\Output\OutputInterface;
use XCFB\Webhooks\Logic\Sending;
use XLite\Core\Database;

/**
 * X-Cart glue (UNTESTED against a real store): `php bin/console xcfb:webhooks:send` sends the due events now
 * (from a system cron job, e.g. every minute, if the store's scheduled tasks do not run often enough);
 * `--requeue-dead` first puts the dead events back in the queue.
 */
class SendCommand extends Command
{
    protected static $defaultName = 'xcfb:webhooks:send';

    protected function configure(): void
    {
        $this->setDescription('Send the queued FreshBooks webhook events')
            ->addOption('requeue-dead', null, InputOption::VALUE_NONE, 'Queue the dead events again first');
    }

    protected function execute(InputInterface $input, OutputInterface $output): int
    {
        if ($input->getOption('requeue-dead')) {
            $requeued = Database::getRepo('XCFB\Webhooks\Model\QueuedEvent')->requeueDead(time());
            $output->writeln("$requeued dead event(s) queued again");
        }
        $counts = Sending::run(500);
        $output->writeln(sprintf('sent %d, to retry %d, dead %d', $counts['sent'], $counts['retry'], $counts['dead']));
        return $counts['dead'] > 0 ? 1 : 0;
    }
}
