/** One sample of a metric in Prometheus text format. */
export interface PrometheusSample {
  labels: Record<string, string>
  value: number
}

const LABEL = /(\w+)="([^"]*)"/g

/** Returns every sample of the metric `name` in Prometheus text `body`, with its labels. */
export function prometheusSamples(body: string, name: string): PrometheusSample[] {
  const samples: PrometheusSample[] = []
  for (const line of body.split('\n')) {
    if (!line.startsWith(name)) continue
    const rest = line.slice(name.length)
    let labelText = ''
    let valueText: string
    if (rest.startsWith('{')) {
      const end = rest.indexOf('} ')
      if (end < 0) continue
      labelText = rest.slice(1, end)
      valueText = rest.slice(end + 2)
    } else if (rest.startsWith(' ')) {
      valueText = rest.slice(1)
    } else {
      // A longer metric name that begins with `name`.
      continue
    }
    const labels: Record<string, string> = {}
    for (const match of labelText.matchAll(LABEL)) labels[match[1] as string] = match[2] as string
    samples.push({ labels, value: Number(valueText) })
  }
  return samples
}

/** Returns the sum of every sample of the metric `name`, or NaN when it has none. */
export function prometheusTotal(body: string, name: string): number {
  const samples = prometheusSamples(body, name)
  if (samples.length === 0) return Number.NaN
  return samples.reduce((total, sample) => total + sample.value, 0)
}
